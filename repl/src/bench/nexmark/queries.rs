//! The Nexmark queries in ksqlDB SQL, over the three source streams the generator's topics
//! hold. ksqlDB has no subqueries, so the queries that Flink writes with nested SELECTs
//! (q5, q7, q8) are chains of CREATE STREAM/TABLE AS SELECT: windowed aggregates emitted
//! once per window (`EMIT FINAL`), streams declared over their sink topics, re-keying with
//! PARTITION BY, and windowed stream-stream joins. Each query's last statement writes the
//! sink whose records the benchmark counts.
//!
//! Every EMIT FINAL window says `RETENTION 1 MINUTE`: with the default retention (size +
//! grace) a window expires the moment it closes, and Brook, following ksqlDB's conformance
//! cases (suppress.json), does not emit a window that expires in the step that closes it,
//! so only windows whose close time some record lands on exactly would come out.

use super::generator::EventKind;

/// Topic of each kind of event.
pub fn topic(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Person => "nexmark_person",
        EventKind::Auction => "nexmark_auction",
        EventKind::Bid => "nexmark_bid",
    }
}

/// The source streams (the generator writes each event's time as its record timestamp,
/// which is also its `dateTime` column).
pub const SOURCES: &str = "
CREATE STREAM person (id BIGINT, name STRING, emailAddress STRING, creditCard STRING, city STRING, state STRING, dateTime BIGINT, extra STRING)
  WITH (kafka_topic='nexmark_person', value_format='JSON');
CREATE STREAM auction (id BIGINT, itemName STRING, description STRING, initialBid BIGINT, reserve BIGINT, dateTime BIGINT, expires BIGINT, seller BIGINT, category BIGINT, extra STRING)
  WITH (kafka_topic='nexmark_auction', value_format='JSON');
CREATE STREAM bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, dateTime BIGINT, extra STRING)
  WITH (kafka_topic='nexmark_bid', value_format='JSON');
";

/// One Nexmark query.
#[derive(Debug, Clone, Copy)]
pub struct Query {
    pub name: &'static str,
    pub title: &'static str,
    /// The kinds of events it reads.
    pub reads: &'static [EventKind],
    /// Its statements, in order; the last writes `sink`.
    pub sql: &'static str,
    /// The topic holding its result.
    pub sink: &'static str,
    /// Why Brook cannot run it yet, when it cannot.
    pub unsupported: Option<&'static str>,
}

pub const QUERIES: &[Query] = &[
    Query {
        name: "q0",
        title: "pass through",
        reads: &[EventKind::Bid],
        sql: "CREATE STREAM q0 AS SELECT auction, bidder, price, dateTime, extra FROM bid;",
        sink: "Q0",
        unsupported: None,
    },
    Query {
        name: "q1",
        title: "currency conversion",
        reads: &[EventKind::Bid],
        sql: "CREATE STREAM q1 AS SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid;",
        sink: "Q1",
        unsupported: None,
    },
    Query {
        name: "q2",
        title: "selection",
        reads: &[EventKind::Bid],
        sql: "CREATE STREAM q2 AS SELECT auction, price FROM bid WHERE auction % 123 = 0;",
        sink: "Q2",
        unsupported: None,
    },
    Query {
        name: "q5",
        title: "hot items",
        reads: &[EventKind::Bid],
        // Bids per auction in each 10 s window sliding by 2 s; the largest count per window
        // (its records timed at the window start fall in one 2 s tumbling window each);
        // the auctions whose count reaches it.
        sql: "
CREATE TABLE q5_auction_bids AS
  SELECT auction, AS_VALUE(auction) AS auction_id, WINDOWSTART AS starttime, COUNT(*) AS num
  FROM bid WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 2 SECONDS, RETENTION 1 MINUTE, GRACE PERIOD 0 SECONDS)
  GROUP BY auction EMIT FINAL;
CREATE STREAM q5_counts (auction_id BIGINT, starttime BIGINT, num BIGINT)
  WITH (kafka_topic='Q5_AUCTION_BIDS', value_format='JSON', timestamp='starttime');
CREATE STREAM q5_counts_by_start AS
  SELECT starttime, auction_id, num FROM q5_counts PARTITION BY starttime;
CREATE TABLE q5_max AS
  SELECT starttime, AS_VALUE(starttime) AS max_start, MAX(num) AS maxn
  FROM q5_counts_by_start WINDOW TUMBLING (SIZE 2 SECONDS, RETENTION 1 MINUTE, GRACE PERIOD 0 SECONDS)
  GROUP BY starttime EMIT FINAL;
CREATE STREAM q5_maxima (max_start BIGINT, maxn BIGINT)
  WITH (kafka_topic='Q5_MAX', value_format='JSON', timestamp='max_start');
CREATE STREAM q5_max_by_start AS
  SELECT max_start, maxn FROM q5_maxima PARTITION BY max_start;
CREATE STREAM q5 AS
  SELECT c.starttime AS starttime, AS_VALUE(c.starttime) AS window_start, c.auction_id AS auction, c.num AS num
  FROM q5_counts_by_start c JOIN q5_max_by_start m WITHIN 2 SECONDS ON c.starttime = m.max_start
  WHERE c.num >= m.maxn;",
        sink: "Q5",
        unsupported: None,
    },
    Query {
        name: "q7",
        title: "highest bid",
        reads: &[EventKind::Bid],
        // The largest price of each 10 s tumbling window, then the bids of that window
        // with that price.
        sql: "
CREATE STREAM q7_bids AS
  SELECT (dateTime / 10000) * 10000 AS wstart, auction, price, bidder, dateTime, extra
  FROM bid PARTITION BY (dateTime / 10000) * 10000;
CREATE TABLE q7_max AS
  SELECT wstart, AS_VALUE(wstart) AS max_start, MAX(price) AS maxprice
  FROM q7_bids WINDOW TUMBLING (SIZE 10 SECONDS, RETENTION 1 MINUTE, GRACE PERIOD 0 SECONDS)
  GROUP BY wstart EMIT FINAL;
CREATE STREAM q7_maxima (max_start BIGINT, maxprice BIGINT)
  WITH (kafka_topic='Q7_MAX', value_format='JSON');
CREATE STREAM q7_max_by_start AS
  SELECT max_start, maxprice FROM q7_maxima PARTITION BY max_start;
CREATE STREAM q7 AS
  SELECT b.wstart AS wstart, b.auction AS auction, b.price AS price, b.bidder AS bidder, b.dateTime AS dateTime, b.extra AS extra
  FROM q7_bids b JOIN q7_max_by_start m WITHIN 20 SECONDS ON b.wstart = m.max_start
  WHERE b.price = m.maxprice;",
        sink: "Q7",
        unsupported: None,
    },
    Query {
        name: "q8",
        title: "monitor new users",
        reads: &[EventKind::Person, EventKind::Auction],
        // Persons who opened an auction in the 10 s tumbling window they registered in:
        // persons and auctions keyed by person id, joined within 10 s, kept when both
        // fall in the same window, one row per person and window.
        sql: "
CREATE STREAM q8_persons AS
  SELECT id, name, (dateTime / 10000) * 10000 AS starttime FROM person PARTITION BY id;
CREATE STREAM q8_sellers AS
  SELECT seller, (dateTime / 10000) * 10000 AS starttime FROM auction PARTITION BY seller;
CREATE STREAM q8_new_sellers AS
  SELECT p.id AS id, p.name AS name, p.starttime AS starttime
  FROM q8_persons p JOIN q8_sellers a WITHIN 10 SECONDS ON p.id = a.seller
  WHERE p.starttime = a.starttime;
CREATE TABLE q8 AS
  SELECT id, AS_VALUE(id) AS person_id, LATEST_BY_OFFSET(name) AS name, WINDOWSTART AS starttime
  FROM q8_new_sellers WINDOW TUMBLING (SIZE 10 SECONDS, RETENTION 1 MINUTE, GRACE PERIOD 10 SECONDS)
  GROUP BY id EMIT FINAL;",
        sink: "Q8",
        unsupported: None,
    },
];

/// The query called `name` (q0, q1, ...), case-insensitively.
pub fn find(name: &str) -> Option<&'static Query> {
    QUERIES.iter().find(|q| q.name.eq_ignore_ascii_case(name))
}
