//! window_groups.rs owns the groups of the time-window operators (time_window.rs:
//! tumbling, and hopping computed per window): per window start a [`Slab`] whose groups are
//! small indexes — key rows in one arena found by hash, one accumulator column per call
//! (aggregate/column.rs), the result timestamp — so a new group allocates nothing of its
//! own and a window leaves whole when it expires. Beside the slabs: the record cache and
//! what the next commit writes. Results go out through [`Updates`] (updates.rs).
//!
//! Store entries are those of group_state.rs (`g` + window start + key row: each call's
//! saved state and the timestamp), so a store written by either reads back by either.

use std::collections::BTreeMap;
use std::hash::BuildHasher;

use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

use super::aggregate::Evaluated;
use super::group_state::TAG_GROUP_ROWKEY;
use super::group_state::{corrupt, group_entry, same_key, FastState, KeyTable};
use super::updates::{UpdateKey, Updates};
use crate::aggregate::codec::Writer;
use crate::aggregate::column::AccColumn;
use crate::aggregate::AggregateFunction;
use crate::formats::windowed::Window;
use crate::runtime::error::Result;

/// Waiting in the record cache.
const CACHED: u8 = 1;
/// Changed since the last commit.
const DIRTY: u8 = 2;
/// Written to the store by a commit (so dropping it needs a delete there).
const PERSISTED: u8 = 4;

/// The most groups a slab kept for the next window may have room for (about 8 MB of
/// entries, counts and index): a window of a million groups takes ~100 MB, which a spare
/// would hold between windows for little gain.
const SPARE_MAX_GROUPS: usize = 1 << 17;

/// Key rows up to this long are kept in their group's entry (most keys: finding a group
/// then reads no arena).
const INLINE_KEY: usize = 16;

/// What a row reads of its group, side by side: finding and updating a group touches one
/// entry instead of a key index, a timestamp and a flag in three vectors (cache misses that
/// were a third of a tumbling aggregation's lookups).
#[derive(Debug, Clone, Copy)]
struct Group {
    /// The group's result timestamp: the largest timestamp of the rows folded in.
    ts: i64,
    /// The key row when at most [`INLINE_KEY`] bytes; else its start in the slab's arena
    /// (the first 8 bytes).
    key: [u8; INLINE_KEY],
    key_len: u32,
    flags: u8,
}

/// The groups of one window.
#[derive(Debug)]
struct Slab {
    /// Group indexes, found by their key's hash.
    index: hashbrown::HashTable<u32>,
    /// Each group's hash (read when the index grows).
    hashes: Vec<u64>,
    groups: Vec<Group>,
    /// The key rows longer than [`INLINE_KEY`].
    arena: Vec<u8>,
    accs: Vec<AccColumn>,
    /// Groups waiting in the record cache.
    cached: usize,
}

impl Slab {
    fn new(functions: &[AggregateFunction]) -> Self {
        Slab {
            index: hashbrown::HashTable::new(),
            hashes: Vec::new(),
            groups: Vec::new(),
            arena: Vec::new(),
            accs: functions.iter().map(AccColumn::new).collect(),
            cached: 0,
        }
    }

    /// A slab holding one group (of an empty key).
    fn single(functions: &[AggregateFunction]) -> Self {
        let mut s = Slab::new(functions);
        s.insert(0, &[], i64::MIN);
        s
    }

    fn len(&self) -> usize {
        self.groups.len()
    }

    /// Empties the slab for another window, keeping its vectors' and its table's room: a
    /// window's groups then go into memory the last one grew into, instead of growing new
    /// vectors (copies, rehashes, page faults) window after window.
    fn clear(&mut self) {
        self.index.clear();
        self.hashes.clear();
        self.groups.clear();
        self.arena.clear();
        self.accs.iter_mut().for_each(AccColumn::clear);
        self.cached = 0;
    }

    fn key(&self, g: u32) -> &[u8] {
        let group = &self.groups[g as usize];
        let len = group.key_len as usize;
        if len <= INLINE_KEY {
            return &group.key[..len];
        }
        let at = u64::from_ne_bytes(group.key[..8].try_into().expect("8 bytes")) as usize;
        &self.arena[at..at + len]
    }

    /// The group of `key`. The table's tag of the hash already tells groups apart, so the
    /// key is compared without reading the group's hash (a cache miss more per row).
    fn find(&self, hash: u64, key: &[u8]) -> Option<u32> {
        self.index
            .find(hash, |&g| same_key(self.key(g), key))
            .copied()
    }

    /// A new group of `key` (its accumulators' initial states).
    fn insert(&mut self, hash: u64, key: &[u8], ts: i64) -> u32 {
        let g = self.groups.len() as u32;
        let mut inline = [0u8; INLINE_KEY];
        if key.len() <= INLINE_KEY {
            inline[..key.len()].copy_from_slice(key);
        } else {
            inline[..8].copy_from_slice(&(self.arena.len() as u64).to_ne_bytes());
            self.arena.extend_from_slice(key);
        }
        self.groups.push(Group {
            ts,
            key: inline,
            // A key row is part of one record, far below 4 GiB.
            key_len: key.len() as u32,
            flags: 0,
        });
        self.hashes.push(hash);
        for a in &mut self.accs {
            a.push();
        }
        let hashes = &self.hashes;
        self.index.insert_unique(hash, g, |&i| hashes[i as usize]);
        g
    }
}

/// Where a cached group's slab is: live, or retired (expired, kept until the cache drains).
#[derive(Debug, Clone, Copy)]
enum SlabRef {
    Live(i64),
    Retired(usize),
}

#[derive(Debug, Clone, Copy)]
struct CacheEntry {
    slab: SlabRef,
    group: u32,
}

/// Groups updated since the last flush, whose latest values go downstream at the next one
/// (Kafka Streams' caching store, as ksqlDB runs persistent queries with
/// `cache.max.bytes.buffering` above 0).
#[derive(Debug)]
struct RecordCache {
    max_keys: usize,
    /// Dirty groups, first update first.
    order: Vec<CacheEntry>,
}

/// The groups of a time-window operator, by window start.
#[derive(Debug)]
pub(crate) struct WindowGroups {
    pub keys: KeyTable,
    functions: Vec<AggregateFunction>,
    /// How many argument columns each call takes.
    arg_counts: Vec<usize>,
    /// Window length: a group's window is `[start, start + size)`.
    size: i64,
    slabs: BTreeMap<i64, Slab>,
    hasher: FastState,
    /// Slabs that expired while some of their groups waited in the record cache.
    retired: Vec<(i64, Slab)>,
    /// An expired window's slab, cleared, for the next new window.
    spare: Option<Slab>,
    cache: Option<RecordCache>,
    /// Whether changes are tracked for a store.
    tracking: bool,
    dirty: Vec<(i64, u32)>,
    deleted: Vec<Vec<u8>>,
    /// A boxed accumulator's argument values (reused between rows).
    scratch: Vec<ScalarValue>,
    /// One group, where [`WindowGroups::merge`] folds the groups of several windows.
    merged: Slab,
    /// Reused by each merge: the groups it folds.
    found: Vec<(i64, u32)>,
}

impl WindowGroups {
    pub fn new(
        key_types: Vec<DataType>,
        functions: Vec<AggregateFunction>,
        arg_counts: Vec<usize>,
        size: i64,
    ) -> Self {
        WindowGroups {
            keys: KeyTable::new(key_types),
            arg_counts,
            size,
            slabs: BTreeMap::new(),
            hasher: FastState::with_seed(rand::random()),
            retired: Vec::new(),
            spare: None,
            cache: None,
            tracking: false,
            dirty: Vec::new(),
            deleted: Vec::new(),
            scratch: Vec::new(),
            merged: Slab::single(&functions),
            found: Vec::new(),
            functions,
        }
    }

    pub fn enable_cache(&mut self, max_keys: usize) {
        if max_keys > 0 {
            self.cache = Some(RecordCache {
                max_keys,
                order: Vec::new(),
            });
        }
    }

    pub fn track_changes(&mut self) {
        self.tracking = true;
    }

    /// The hash a key is found by (computed once per row, whatever its windows).
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Folds row `row` of `e` (key `key`, of hash `hash`) into its group of the window
    /// starting at `start` (created if new), then notes the change: written at the next
    /// commit; with the record cache on, its latest value goes downstream at the next
    /// flush. Returns the group and whether the change was cached (the caller emits it
    /// otherwise).
    pub fn update(
        &mut self,
        start: i64,
        hash: u64,
        key: &[u8],
        e: &Evaluated,
        row: usize,
        ts: i64,
    ) -> Result<(u32, bool)> {
        let (functions, spare) = (&self.functions, &mut self.spare);
        let slab = self
            .slabs
            .entry(start)
            .or_insert_with(|| spare.take().unwrap_or_else(|| Slab::new(functions)));
        let g = match slab.find(hash, key) {
            Some(g) => g,
            None => slab.insert(hash, key, ts),
        };
        let gi = g as usize;
        slab.groups[gi].ts = slab.groups[gi].ts.max(ts);
        let mut at = 0;
        for (acc, n) in slab.accs.iter_mut().zip(&self.arg_counts) {
            acc.add(gi, &e.arg_cols[at..at + n], row, &mut self.scratch)?;
            at += n;
        }
        let flags = &mut slab.groups[gi].flags;
        if self.tracking && *flags & DIRTY == 0 {
            *flags |= DIRTY;
            self.dirty.push((start, g));
        }
        let Some(cache) = &mut self.cache else {
            return Ok((g, false));
        };
        if *flags & CACHED == 0 {
            *flags |= CACHED;
            slab.cached += 1;
            cache.order.push(CacheEntry {
                slab: SlabRef::Live(start),
                group: g,
            });
        }
        Ok((g, true))
    }

    /// Appends group `g` of window `start`'s current result to `out`, keyed by input row
    /// `row` of the batch, or by its own key when `row` is None.
    pub fn push_update(
        &self,
        start: i64,
        g: u32,
        row: Option<usize>,
        out: &mut Updates,
    ) -> Result<()> {
        let Some(slab) = self.slabs.get(&start) else {
            return Err(corrupt("an update of a window that is not held"));
        };
        let key = match row {
            Some(r) => UpdateKey::Input(r),
            None => UpdateKey::Own(slab.key(g)),
        };
        let window = Window {
            start,
            end: start + self.size,
        };
        out.push_group(&slab.accs, g, key, slab.groups[g as usize].ts, window)
    }

    /// Folds `key`'s groups of the windows starting in `window` (slices of it) into the
    /// merged group; Err when states do not merge.
    fn merge(&mut self, window: Window, hash: u64, key: &[u8]) -> Result<()> {
        let mut found = std::mem::take(&mut self.found);
        self.find_groups(window.start, window.end, hash, key, &mut found);
        let merged = self.merge_found(&found, window);
        self.found = found;
        merged
    }

    /// `key`'s groups in the windows (slices) starting in `[from, to)`, by start: one
    /// lookup per slice, for all the windows of a span to merge from
    /// ([`WindowGroups::push_merged_from`]).
    pub fn find_groups(
        &self,
        from: i64,
        to: i64,
        hash: u64,
        key: &[u8],
        found: &mut Vec<(i64, u32)>,
    ) {
        found.clear();
        for (&start, slab) in self.slabs.range(from..to) {
            if let Some(g) = slab.find(hash, key) {
                found.push((start, g));
            }
        }
    }

    /// Folds the groups of `found` that start in `window` into the merged group.
    fn merge_found(&mut self, found: &[(i64, u32)], window: Window) -> Result<()> {
        let merged = &mut self.merged;
        merged.groups[0].ts = i64::MIN;
        for a in &mut merged.accs {
            a.reset(0);
        }
        for &(start, g) in found {
            if start < window.start || start >= window.end {
                continue;
            }
            let Some(slab) = self.slabs.get(&start) else {
                continue;
            };
            let g = g as usize;
            merged.groups[0].ts = merged.groups[0].ts.max(slab.groups[g].ts);
            for (m, a) in merged.accs.iter_mut().zip(&slab.accs) {
                m.merge(0, a, g)?;
            }
        }
        Ok(())
    }

    /// Appends to `out` the result of `key` over `window`, merged from the groups `found`
    /// over a span that covers it ([`WindowGroups::find_groups`], nothing changed since).
    pub fn push_merged_from(
        &mut self,
        found: &[(i64, u32)],
        window: Window,
        key: &[u8],
        out: &mut Updates,
    ) -> Result<()> {
        self.merge_found(found, window)?;
        out.push_group(
            &self.merged.accs,
            0,
            UpdateKey::Own(key),
            self.merged.groups[0].ts,
            window,
        )
    }

    /// Appends to `out` the result of `key` over `window`, made of the groups of the slices
    /// (windows of this table) it covers.
    pub fn push_merged(
        &mut self,
        window: Window,
        hash: u64,
        key: &[u8],
        out: &mut Updates,
    ) -> Result<()> {
        self.merge(window, hash, key)?;
        out.push_group(
            &self.merged.accs,
            0,
            UpdateKey::Own(key),
            self.merged.groups[0].ts,
            window,
        )
    }

    /// The calls' results and the timestamp of `key` over `window`, made as
    /// [`WindowGroups::push_merged`] does.
    pub fn merged(
        &mut self,
        window: Window,
        hash: u64,
        key: &[u8],
    ) -> Result<(Vec<ScalarValue>, i64)> {
        self.merge(window, hash, key)?;
        let values = self.merged.accs.iter().map(|a| a.value(0)).collect();
        Ok((values, self.merged.groups[0].ts))
    }

    /// Drops the windows starting before `horizon` (cached updates of their groups still
    /// go downstream; store entries a commit wrote are deleted at the next commit).
    pub fn expire(&mut self, horizon: i64) {
        while let Some((&start, _)) = self.slabs.first_key_value() {
            if start >= horizon {
                break;
            }
            let (_, slab) = self.slabs.pop_first().expect("non-empty");
            if self.tracking {
                for g in 0..slab.len() as u32 {
                    if slab.groups[g as usize].flags & PERSISTED != 0 {
                        self.deleted.push(store_key(start, slab.key(g)));
                    }
                }
            }
            if slab.cached > 0 {
                let at = self.retired.len();
                if let Some(c) = &mut self.cache {
                    for e in c.order.iter_mut() {
                        if matches!(e.slab, SlabRef::Live(s) if s == start) {
                            e.slab = SlabRef::Retired(at);
                        }
                    }
                }
                self.retired.push((start, slab));
            } else {
                self.keep_spare(slab);
            }
        }
    }

    /// Keeps `slab` (cleared) for the next new window, unless a larger one is kept or it is
    /// larger than [`SPARE_MAX_GROUPS`]: a spare that large would hold tens of megabytes
    /// between windows to save growth that costs little next to filling it.
    fn keep_spare(&mut self, mut slab: Slab) {
        if slab.groups.capacity() > SPARE_MAX_GROUPS
            || self
                .spare
                .as_ref()
                .is_some_and(|s| s.groups.capacity() >= slab.groups.capacity())
        {
            return;
        }
        slab.clear();
        self.spare = Some(slab);
    }

    /// The first window start held, if any.
    pub fn first_start(&self) -> Option<i64> {
        self.slabs.first_key_value().map(|(s, _)| *s)
    }

    /// EMIT FINAL: appends the results of the windows starting in `from..=upper`, window by
    /// window, each window's groups in key order.
    pub fn push_windows(&self, from: i64, upper: i64, out: &mut Updates) -> Result<()> {
        for (&start, slab) in self.slabs.range(from..=upper) {
            let mut groups: Vec<u32> = (0..slab.len() as u32).collect();
            groups.sort_by(|a, b| slab.key(*a).cmp(slab.key(*b)));
            let window = Window {
                start,
                end: start + self.size,
            };
            for g in groups {
                out.push_group(
                    &slab.accs,
                    g,
                    UpdateKey::Own(slab.key(g)),
                    slab.groups[g as usize].ts,
                    window,
                )?;
            }
        }
        Ok(())
    }

    /// Whether the cache should be flushed now (full, or holding updates of expired
    /// windows).
    pub fn cache_due(&self) -> bool {
        self.cache
            .as_ref()
            .is_some_and(|c| c.order.len() >= c.max_keys || !self.retired.is_empty())
    }

    /// Empties the record cache into `out`: the latest result of every cached group, in the
    /// order they first changed.
    pub fn drain_cache(&mut self, out: &mut Updates) -> Result<()> {
        let Some(c) = &mut self.cache else {
            return Ok(());
        };
        let order = std::mem::take(&mut c.order);
        out.reserve(order.len(), 0);
        for e in &order {
            let (start, slab) = match e.slab {
                SlabRef::Live(start) => match self.slabs.get_mut(&start) {
                    Some(s) => (start, s),
                    None => continue,
                },
                SlabRef::Retired(i) => match self.retired.get_mut(i) {
                    Some((start, s)) => (*start, s),
                    None => continue,
                },
            };
            let flags = &mut slab.groups[e.group as usize].flags;
            if *flags & CACHED == 0 {
                continue;
            }
            *flags &= !CACHED;
            slab.cached -= 1;
            let window = Window {
                start,
                end: start + self.size,
            };
            out.push_group(
                &slab.accs,
                e.group,
                UpdateKey::Own(slab.key(e.group)),
                slab.groups[e.group as usize].ts,
                window,
            )?;
        }
        for (_, slab) in std::mem::take(&mut self.retired) {
            self.keep_spare(slab);
        }
        if let Some(c) = &mut self.cache {
            let mut order = order;
            order.clear();
            c.order = order;
        }
        Ok(())
    }

    /// An empty list of results of these groups' calls.
    pub fn updates(&self) -> Updates {
        Updates::new(&self.merged.accs)
    }

    /// Live groups.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.slabs.values().map(Slab::len).sum()
    }

    /// The store writes since the last call: deletes first, then the changed groups.
    pub fn take_changes(&mut self) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut out: Vec<(Vec<u8>, Option<Vec<u8>>)> =
            Vec::with_capacity(self.deleted.len() + dirty.len());
        out.extend(
            std::mem::take(&mut self.deleted)
                .into_iter()
                .map(|k| (k, None)),
        );
        for (start, g) in dirty {
            let Some(slab) = self.slabs.get_mut(&start) else {
                continue;
            };
            let gi = g as usize;
            if gi >= slab.len() || slab.groups[gi].flags & DIRTY == 0 {
                continue;
            }
            slab.groups[gi].flags = (slab.groups[gi].flags & !DIRTY) | PERSISTED;
            let mut w = Writer::new(TAG_GROUP_ROWKEY);
            for a in &slab.accs {
                w.bytes(&a.save(gi));
            }
            w.i64(slab.groups[gi].ts);
            out.push((store_key(start, slab.key(g)), Some(w.finish())));
        }
        out
    }

    /// Restores the groups of `store` (entries `g` + start + key row).
    pub fn load(&mut self, store: &brook_state::Store) -> Result<()> {
        for (k, v) in store.prefix(b"g")? {
            let rest = &k[1..];
            if rest.len() < 8 {
                return Err(corrupt("group key without its window start"));
            }
            let mut b = [0u8; 8];
            b.copy_from_slice(&rest[..8]);
            let start = i64::from_be_bytes(b);
            let key = &rest[8..];
            let mut r = group_entry(&v, self.keys.types())?;
            let hash = self.hash(key);
            let functions = &self.functions;
            let slab = self
                .slabs
                .entry(start)
                .or_insert_with(|| Slab::new(functions));
            if slab.find(hash, key).is_some() {
                return Err(corrupt("a group stored twice"));
            }
            let mut saved = Vec::with_capacity(functions.len());
            for _ in functions {
                saved.push(r.bytes()?);
            }
            let ts = r.i64()?;
            let g = slab.insert(hash, key, ts) as usize;
            for (acc, bytes) in slab.accs.iter_mut().zip(saved) {
                // insert pushed an initial state; the saved one replaces it.
                acc.replace_saved(g, bytes)?;
            }
            slab.groups[g].flags = PERSISTED;
        }
        Ok(())
    }
}

fn store_key(start: i64, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 9);
    k.push(b'g');
    k.extend_from_slice(&start.to_be_bytes());
    k.extend_from_slice(key);
    k
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::DataType;
    use brook_sql::SqlType;
    use datafusion::common::ScalarValue;

    use super::*;
    use crate::aggregate::column::ColumnResults;

    fn count_groups(size: i64) -> WindowGroups {
        let count = AggregateFunction::new("COUNT", &[], 0, vec![], &SqlType::BigInt).unwrap();
        WindowGroups::new(vec![DataType::Utf8], vec![count], vec![0], size)
    }

    /// What `COUNT(*)` evaluates per batch: no argument columns (keys are passed as bytes).
    fn no_args() -> Evaluated {
        Evaluated {
            key_cols: Vec::new(),
            key_rows: None,
            arg_cols: Vec::new(),
            any_null_key: false,
        }
    }

    fn add(groups: &mut WindowGroups, start: i64, key: &str, ts: i64) -> bool {
        let hash = groups.hash(key.as_bytes());
        groups
            .update(start, hash, key.as_bytes(), &no_args(), 0, ts)
            .unwrap()
            .1
    }

    /// (key, count, timestamp, window start) of each update.
    fn updates(u: &Updates) -> Vec<(String, i64, i64, i64)> {
        let counts = match &u.results()[0] {
            ColumnResults::Int64(b) => b.values_slice().to_vec(),
            other => panic!("a COUNT column, got {other:?}"),
        };
        (0..u.len())
            .map(|i| {
                let (key, ts, window, _) = u.row(i);
                let key = String::from_utf8(key.to_vec()).unwrap();
                (key, counts[i], ts, window.start)
            })
            .collect()
    }

    #[test]
    fn the_cache_sends_each_groups_last_value_even_after_its_window_left() {
        let mut groups = count_groups(10);
        groups.enable_cache(100);
        assert!(add(&mut groups, 0, "a", 1));
        add(&mut groups, 0, "b", 2);
        add(&mut groups, 0, "a", 3);
        add(&mut groups, 10, "a", 12);
        assert!(!groups.cache_due());
        groups.expire(5);
        assert_eq!(groups.len(), 1);
        // The expired window's cached groups make the cache due at once.
        assert!(groups.cache_due());
        let mut out = groups.updates();
        groups.drain_cache(&mut out).unwrap();
        assert_eq!(
            updates(&out),
            vec![
                ("a".into(), 2, 3, 0),
                ("b".into(), 1, 2, 0),
                ("a".into(), 1, 12, 10)
            ]
        );
        let mut again = groups.updates();
        groups.drain_cache(&mut again).unwrap();
        assert!(again.is_empty());
    }

    #[test]
    fn keys_inline_and_in_the_arena_are_found_and_read_back() {
        let count = AggregateFunction::new("COUNT", &[], 0, vec![], &SqlType::BigInt).unwrap();
        let mut slab = Slab::new(&[count]);
        let hasher = FastState::with_seed(7);
        let keys: Vec<Vec<u8>> = (0..40u8).map(|n| (0..n).map(|b| b ^ n).collect()).collect();
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(slab.insert(hasher.hash_one(key), key, i as i64), i as u32);
        }
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(slab.find(hasher.hash_one(key), key), Some(i as u32));
            assert_eq!(slab.key(i as u32), &key[..]);
            assert_eq!(slab.groups[i].ts, i as i64);
        }
        let other = vec![0xffu8; 20];
        assert_eq!(slab.find(hasher.hash_one(&other), &other), None);
    }

    #[test]
    fn a_new_window_reuses_an_expired_ones_slab_empty() {
        let mut groups = count_groups(10);
        for key in ["a", "b", "c"] {
            add(&mut groups, 0, key, 1);
        }
        add(&mut groups, 0, "a", 2);
        groups.expire(5);
        assert_eq!(groups.len(), 0);
        assert!(groups.spare.is_some());
        // The next window takes the spare: only its own groups, counted from zero.
        add(&mut groups, 10, "b", 11);
        add(&mut groups, 10, "d", 12);
        add(&mut groups, 10, "b", 13);
        assert!(groups.spare.is_none());
        assert_eq!(groups.len(), 2);
        let mut out = groups.updates();
        groups.push_windows(10, 10, &mut out).unwrap();
        assert_eq!(
            updates(&out),
            vec![("b".into(), 2, 13, 10), ("d".into(), 1, 12, 10)]
        );
    }

    #[test]
    fn commits_write_changed_groups_and_delete_the_expired_ones_they_wrote() {
        let mut groups = count_groups(10);
        groups.track_changes();
        add(&mut groups, 0, "a", 1);
        add(&mut groups, 0, "a", 2);
        add(&mut groups, 10, "b", 11);
        let changes = groups.take_changes();
        assert_eq!(changes.len(), 2);
        assert!(changes.iter().all(|(_, v)| v.is_some()));
        assert_eq!(changes[0].0, store_key(0, b"a"));
        // Nothing changed since: nothing to write.
        assert!(groups.take_changes().is_empty());
        // A group that comes and goes between two commits never reaches the store.
        add(&mut groups, 20, "c", 21);
        groups.expire(25);
        let changes = groups.take_changes();
        let deleted: Vec<&[u8]> = changes
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.as_slice())
            .collect();
        assert_eq!(
            deleted,
            vec![&store_key(0, b"a")[..], &store_key(10, b"b")[..]]
        );
        assert!(changes.iter().all(|(k, _)| *k != store_key(20, b"c")));
    }

    #[test]
    fn a_merged_result_folds_the_slices_of_its_window() {
        let mut groups = count_groups(5);
        for (start, key, ts) in [
            (0, "a", 1),
            (5, "a", 7),
            (5, "a", 8),
            (5, "b", 6),
            (10, "a", 11),
        ] {
            add(&mut groups, start, key, ts);
        }
        let hash = groups.hash(b"a");
        assert_eq!(
            groups
                .merged(Window { start: 0, end: 10 }, hash, b"a")
                .unwrap(),
            (vec![ScalarValue::Int64(Some(3))], 8)
        );
        let mut out = groups.updates();
        let window = Window { start: 5, end: 15 };
        groups.push_merged(window, hash, b"a", &mut out).unwrap();
        let hash = groups.hash(b"z");
        groups.push_merged(window, hash, b"z", &mut out).unwrap();
        assert_eq!(
            updates(&out),
            vec![("a".into(), 3, 11, 5), ("z".into(), 0, i64::MIN, 5)]
        );
    }

    #[test]
    fn windows_merged_from_one_lookup_of_a_span_match_their_own_merges() {
        let mut groups = count_groups(5);
        for (start, key, ts) in [(0, "a", 1), (5, "a", 7), (5, "b", 6), (15, "a", 16)] {
            add(&mut groups, start, key, ts);
        }
        let hash = groups.hash(b"a");
        let mut found = Vec::new();
        groups.find_groups(0, 25, hash, b"a", &mut found);
        assert_eq!(found, vec![(0, 0), (5, 0), (15, 0)]);
        let (mut from_span, mut one_by_one) = (groups.updates(), groups.updates());
        for start in [0, 5, 10] {
            let window = Window {
                start,
                end: start + 10,
            };
            groups
                .push_merged_from(&found, window, b"a", &mut from_span)
                .unwrap();
            groups
                .push_merged(window, hash, b"a", &mut one_by_one)
                .unwrap();
        }
        assert_eq!(updates(&from_span), updates(&one_by_one));
        assert_eq!(
            updates(&from_span),
            vec![
                ("a".into(), 2, 7, 0),
                ("a".into(), 1, 7, 5),
                ("a".into(), 1, 16, 10)
            ]
        );
    }
}
