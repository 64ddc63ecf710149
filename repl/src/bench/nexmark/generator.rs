//! The Nexmark event generator: persons, auctions and bids of an online auction site, as the
//! Nexmark benchmark defines them (the generator of Apache Beam's Nexmark suite, which
//! Flink's nexmark project reuses). Event `n` is a person when `n % 50 == 0`, an auction
//! when `n % 50` is 1..=3 and a bid otherwise (1 : 3 : 46). Ids are dense and start at
//! 1000; auctions are sold by recent persons and bids go to recent auctions and come from
//! recent persons, with "hot" sellers, bidders and auctions taking most of them (Beam's
//! default ratios); prices follow Beam's log-uniform `10^(6u) · 100` cents; each kind is
//! padded with an `extra` string to Beam's average size (person 200, auction 500, bid 100
//! bytes). Event `n`'s time is `base + n / rate` (events per second of event time), so
//! timestamps never go back. The pseudo-random numbers come from a seeded SplitMix64 of our
//! own, so that the same seed gives the same events on every build and every machine.

/// Events per "epoch": 1 person, 3 auctions, 46 bids.
const PERSON_PROPORTION: u64 = 1;
const AUCTION_PROPORTION: u64 = 3;
const PROPORTION_DENOMINATOR: u64 = 50;

const FIRST_PERSON_ID: u64 = 1000;
const FIRST_AUCTION_ID: u64 = 1000;
const FIRST_CATEGORY_ID: u64 = 10;
const NUM_CATEGORIES: u64 = 5;

/// Beam's defaults (NexmarkConfiguration): auctions still open, persons still active.
const NUM_IN_FLIGHT_AUCTIONS: u64 = 100;
const NUM_ACTIVE_PEOPLE: u64 = 1000;
/// One in `ratio` picks a random id; the others pick the hot one.
const HOT_AUCTION_RATIO: u64 = 2;
const HOT_SELLERS_RATIO: u64 = 4;
const HOT_BIDDERS_RATIO: u64 = 4;
/// Hot ids are the first (bidders: second) of each batch of this many.
const HOT_BATCH: u64 = 100;
/// Ids this far beyond the last one generated may be picked ("appear swapped in time").
const PERSON_ID_LEAD: u64 = 10;
const AUCTION_ID_LEAD: u64 = 10;

const AVG_PERSON_BYTES: usize = 200;
const AVG_AUCTION_BYTES: usize = 500;
const AVG_BID_BYTES: usize = 100;

const US_STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
const US_CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
const FIRST_NAMES: [&str; 11] = [
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
const LAST_NAMES: [&str; 9] = [
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];
/// Flink's nexmark adds a channel and a URL to each bid.
const CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];

/// How the generator runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// Seed of the pseudo-random numbers: the same seed gives the same events.
    pub seed: u64,
    /// Events per second of event time (Beam's default first-event rate is 10,000).
    pub rate: u64,
    /// Time of the first event, milliseconds since the epoch.
    pub base_time_ms: i64,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            seed: 42,
            rate: 10_000,
            base_time_ms: 1_700_000_000_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: u64,
    pub name: String,
    pub email_address: String,
    pub credit_card: String,
    pub city: &'static str,
    pub state: &'static str,
    pub date_time: i64,
    pub extra: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Auction {
    pub id: u64,
    pub item_name: String,
    pub description: String,
    pub initial_bid: u64,
    pub reserve: u64,
    pub date_time: i64,
    pub expires: i64,
    pub seller: u64,
    pub category: u64,
    pub extra: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bid {
    pub auction: u64,
    pub bidder: u64,
    /// Cents.
    pub price: u64,
    pub channel: &'static str,
    pub url: String,
    pub date_time: i64,
    pub extra: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Person(Person),
    Auction(Auction),
    Bid(Bid),
}

/// The three kinds, each written to its own topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Person,
    Auction,
    Bid,
}

impl EventKind {
    /// The kind of event number `n`.
    pub fn of(n: u64) -> EventKind {
        let offset = n % PROPORTION_DENOMINATOR;
        if offset < PERSON_PROPORTION {
            EventKind::Person
        } else if offset < PERSON_PROPORTION + AUCTION_PROPORTION {
            EventKind::Auction
        } else {
            EventKind::Bid
        }
    }
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Person(_) => EventKind::Person,
            Event::Auction(_) => EventKind::Auction,
            Event::Bid(_) => EventKind::Bid,
        }
    }

    /// Event time, milliseconds since the epoch.
    pub fn date_time(&self) -> i64 {
        match self {
            Event::Person(p) => p.date_time,
            Event::Auction(a) => a.date_time,
            Event::Bid(b) => b.date_time,
        }
    }

    /// The JSON value written to the log. Generated strings hold only letters, digits,
    /// spaces and URL punctuation, so nothing needs escaping.
    pub fn to_json(&self) -> String {
        match self {
            Event::Person(p) => format!(
                r#"{{"id":{},"name":"{}","emailAddress":"{}","creditCard":"{}","city":"{}","state":"{}","dateTime":{},"extra":"{}"}}"#,
                p.id, p.name, p.email_address, p.credit_card, p.city, p.state, p.date_time, p.extra
            ),
            Event::Auction(a) => format!(
                r#"{{"id":{},"itemName":"{}","description":"{}","initialBid":{},"reserve":{},"dateTime":{},"expires":{},"seller":{},"category":{},"extra":"{}"}}"#,
                a.id,
                a.item_name,
                a.description,
                a.initial_bid,
                a.reserve,
                a.date_time,
                a.expires,
                a.seller,
                a.category,
                a.extra
            ),
            Event::Bid(b) => format!(
                r#"{{"auction":{},"bidder":{},"price":{},"channel":"{}","url":"{}","dateTime":{},"extra":"{}"}}"#,
                b.auction, b.bidder, b.price, b.channel, b.url, b.date_time, b.extra
            ),
        }
    }
}

/// SplitMix64: small, fast, and the same sequence for a seed everywhere.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by Lemire's multiply-shift (bias below 2^-32 here).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The id (base 0) of the last person generated at or before event `n`.
fn last_base0_person_id(n: u64) -> u64 {
    let epoch = n / PROPORTION_DENOMINATOR;
    let mut offset = n % PROPORTION_DENOMINATOR;
    if offset >= PERSON_PROPORTION {
        // An auction or a bid: the last person of this epoch.
        offset = PERSON_PROPORTION - 1;
    }
    epoch * PERSON_PROPORTION + offset
}

/// The id (base 0) of the last auction generated at or before event `n` (the current one
/// when `n` is an auction).
fn last_base0_auction_id(n: u64) -> u64 {
    let mut epoch = n / PROPORTION_DENOMINATOR;
    let mut offset = n % PROPORTION_DENOMINATOR;
    if offset < PERSON_PROPORTION {
        // A person: the last auction of the previous epoch.
        epoch = epoch.wrapping_sub(1);
        offset = AUCTION_PROPORTION - 1;
    } else if offset >= PERSON_PROPORTION + AUCTION_PROPORTION {
        // A bid: the last auction of this epoch.
        offset = AUCTION_PROPORTION - 1;
    } else {
        offset -= PERSON_PROPORTION;
    }
    epoch.wrapping_mul(AUCTION_PROPORTION).wrapping_add(offset)
}

/// A deterministic stream of Nexmark events; an iterator that never ends.
#[derive(Debug, Clone)]
pub struct Generator {
    config: GeneratorConfig,
    rng: SplitMix64,
    next_event: u64,
}

impl Generator {
    /// `config.rate` must be at least 1.
    pub fn new(config: GeneratorConfig) -> Generator {
        Generator {
            config,
            rng: SplitMix64(config.seed),
            next_event: 0,
        }
    }

    /// Event time of event number `n`: `base + n / rate` seconds, in milliseconds.
    pub fn timestamp_of(&self, n: u64) -> i64 {
        let micros = n as u128 * 1_000_000 / self.config.rate.max(1) as u128;
        self.config.base_time_ms + (micros / 1000) as i64
    }

    /// A random person among the active ones, or a few not generated yet.
    fn random_person(&mut self, n: u64) -> u64 {
        let people = last_base0_person_id(n) + 1;
        let active = people.min(NUM_ACTIVE_PEOPLE);
        people - active + self.rng.below(active + PERSON_ID_LEAD)
    }

    /// A random auction among those in flight, or a few not generated yet.
    fn random_auction(&mut self, n: u64) -> u64 {
        let max = last_base0_auction_id(n);
        let min = max.saturating_sub(NUM_IN_FLIGHT_AUCTIONS);
        min + self.rng.below(max - min + 1 + AUCTION_ID_LEAD)
    }

    fn price(&mut self) -> u64 {
        (10f64.powf(self.rng.unit() * 6.0) * 100.0).round() as u64
    }

    /// Lower-case letters, 3 to `max` of them.
    fn string(&mut self, max: usize) -> String {
        let len = 3 + self.rng.below((max - 2) as u64) as usize;
        self.letters(len)
    }

    fn letters(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| (b'a' + self.rng.below(26) as u8) as char)
            .collect()
    }

    /// Padding that brings an event of `size` bytes to `average` on average (±20%).
    fn extra(&mut self, size: usize, average: usize) -> String {
        if size >= average {
            return String::new();
        }
        let wanted = average - size;
        let delta = wanted / 5;
        let len = wanted - delta + self.rng.below(2 * delta as u64 + 1) as usize;
        self.letters(len)
    }

    fn person(&mut self, n: u64, date_time: i64) -> Person {
        let id = last_base0_person_id(n) + FIRST_PERSON_ID;
        let name = format!(
            "{} {}",
            self.rng.pick(&FIRST_NAMES),
            self.rng.pick(&LAST_NAMES)
        );
        let email_address = format!("{}@{}.com", self.string(7), self.string(5));
        let credit_card = (0..4)
            .map(|_| format!("{:04}", self.rng.below(10_000)))
            .collect::<Vec<_>>()
            .join(" ");
        let city = self.rng.pick(&US_CITIES);
        let state = self.rng.pick(&US_STATES);
        let size = 8 + name.len() + email_address.len() + credit_card.len() + city.len() + 2;
        let extra = self.extra(size, AVG_PERSON_BYTES);
        Person {
            id,
            name,
            email_address,
            credit_card,
            city,
            state,
            date_time,
            extra,
        }
    }

    fn auction(&mut self, n: u64, date_time: i64) -> Auction {
        let id = last_base0_auction_id(n) + FIRST_AUCTION_ID;
        let seller = if self.rng.below(HOT_SELLERS_RATIO) > 0 {
            (last_base0_person_id(n) / HOT_BATCH) * HOT_BATCH
        } else {
            self.random_person(n)
        } + FIRST_PERSON_ID;
        let category = FIRST_CATEGORY_ID + self.rng.below(NUM_CATEGORIES);
        let initial_bid = self.price();
        // Open for twice (on average) the time until NUM_IN_FLIGHT_AUCTIONS more auctions.
        let ahead = NUM_IN_FLIGHT_AUCTIONS * PROPORTION_DENOMINATOR / AUCTION_PROPORTION;
        let horizon = (self.timestamp_of(n + ahead) - date_time).max(0) as u64;
        let expires = date_time + 1 + self.rng.below((horizon * 2).max(1)) as i64;
        let item_name = self.string(20);
        let description = self.string(100);
        let reserve = initial_bid + self.price();
        let size = 8 + item_name.len() + description.len() + 5 * 8;
        let extra = self.extra(size, AVG_AUCTION_BYTES);
        Auction {
            id,
            item_name,
            description,
            initial_bid,
            reserve,
            date_time,
            expires,
            seller,
            category,
            extra,
        }
    }

    fn bid(&mut self, n: u64, date_time: i64) -> Bid {
        let auction = if self.rng.below(HOT_AUCTION_RATIO) > 0 {
            (last_base0_auction_id(n) / HOT_BATCH) * HOT_BATCH
        } else {
            self.random_auction(n)
        } + FIRST_AUCTION_ID;
        let bidder = if self.rng.below(HOT_BIDDERS_RATIO) > 0 {
            // The second of the batch, so that hot bidders are not the hot sellers.
            (last_base0_person_id(n) / HOT_BATCH) * HOT_BATCH + 1
        } else {
            self.random_person(n)
        } + FIRST_PERSON_ID;
        let price = self.price();
        let channel = self.rng.pick(&CHANNELS);
        let url = format!(
            "https://www.nexmark.com/{}/item.htm?query=1&channel_id={}",
            self.letters(5),
            self.rng.below(100)
        );
        let extra = self.extra(4 * 8, AVG_BID_BYTES);
        Bid {
            auction,
            bidder,
            price,
            channel,
            url,
            date_time,
            extra,
        }
    }
}

impl Iterator for Generator {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let n = self.next_event;
        self.next_event += 1;
        let date_time = self.timestamp_of(n);
        Some(match EventKind::of(n) {
            EventKind::Person => Event::Person(self.person(n, date_time)),
            EventKind::Auction => Event::Auction(self.auction(n, date_time)),
            EventKind::Bid => Event::Bid(self.bid(n, date_time)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(config: GeneratorConfig, n: usize) -> Vec<Event> {
        Generator::new(config).take(n).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_events_and_another_seed_others() {
        let config = GeneratorConfig::default();
        assert_eq!(events(config, 2000), events(config, 2000));
        let other = GeneratorConfig { seed: 7, ..config };
        assert_ne!(events(config, 2000), events(other, 2000));
    }

    #[test]
    fn the_mix_is_one_person_three_auctions_forty_six_bids() {
        let all = events(GeneratorConfig::default(), 50_000);
        let count = |kind| all.iter().filter(|e| e.kind() == kind).count();
        assert_eq!(count(EventKind::Person), 1_000);
        assert_eq!(count(EventKind::Auction), 3_000);
        assert_eq!(count(EventKind::Bid), 46_000);
        // Every epoch of 50 starts with its person, then its three auctions.
        assert_eq!(all[0].kind(), EventKind::Person);
        assert!(all[1..4].iter().all(|e| e.kind() == EventKind::Auction));
        assert!(all[4..50].iter().all(|e| e.kind() == EventKind::Bid));
    }

    #[test]
    fn timestamps_never_go_back_and_advance_at_the_rate() {
        let config = GeneratorConfig {
            rate: 1_000,
            ..GeneratorConfig::default()
        };
        let all = events(config, 10_001);
        assert!(all.windows(2).all(|w| w[0].date_time() <= w[1].date_time()));
        assert_eq!(all[0].date_time(), config.base_time_ms);
        // 1,000 events per second: event 10,000 is 10 s after the first.
        assert_eq!(all[10_000].date_time(), config.base_time_ms + 10_000);
    }

    #[test]
    fn ids_are_dense_and_references_point_at_recent_entities() {
        let all = events(GeneratorConfig::default(), 20_000);
        let mut persons = 0;
        let mut auctions = 0;
        for event in &all {
            match event {
                Event::Person(p) => {
                    assert_eq!(p.id, FIRST_PERSON_ID + persons);
                    persons += 1;
                }
                Event::Auction(a) => {
                    assert_eq!(a.id, FIRST_AUCTION_ID + auctions);
                    auctions += 1;
                    assert!(a.seller < FIRST_PERSON_ID + persons + PERSON_ID_LEAD);
                    assert!(a.reserve >= a.initial_bid);
                    assert!(a.expires > a.date_time);
                    assert!((FIRST_CATEGORY_ID..FIRST_CATEGORY_ID + NUM_CATEGORIES)
                        .contains(&a.category));
                }
                Event::Bid(b) => {
                    assert!(b.auction >= FIRST_AUCTION_ID);
                    assert!(b.auction < FIRST_AUCTION_ID + auctions + AUCTION_ID_LEAD);
                    assert!(b.bidder < FIRST_PERSON_ID + persons + PERSON_ID_LEAD);
                    assert!((100..=100_000_000).contains(&b.price));
                }
            }
        }
    }

    #[test]
    fn events_are_json_objects_near_beams_average_sizes() {
        let all = events(GeneratorConfig::default(), 5_000);
        let mut sizes = std::collections::HashMap::<EventKind, (usize, usize)>::new();
        for event in &all {
            let json = event.to_json();
            let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
            assert_eq!(value["dateTime"].as_i64(), Some(event.date_time()));
            let entry = sizes.entry(event.kind()).or_default();
            entry.0 += json.len();
            entry.1 += 1;
        }
        for (kind, wanted) in [
            (EventKind::Person, AVG_PERSON_BYTES),
            (EventKind::Auction, AVG_AUCTION_BYTES),
            (EventKind::Bid, AVG_BID_BYTES),
        ] {
            let (bytes, count) = sizes[&kind];
            let average = bytes / count;
            // The padding aims at Beam's payload size; JSON adds the field names.
            assert!(
                average >= wanted && average < wanted + 200,
                "{kind:?}: {average}"
            );
        }
    }
}
