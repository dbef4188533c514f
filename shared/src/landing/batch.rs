//! One batch being put together: every record is written and compressed into its partition's object as it is
//! added, so what a batch holds is its compressed lines (a few hundred bytes a record), not the records themselves.
//! [`super::Lander::land`] builds one from a slice; a collector that gathers a batch over time (Lookout's
//! session between two flushes) adds to one as events arrive; [`super::streaming::StreamingLanding`] adds to one
//! and sends full parts on the way.
//!
//! Object names follow [`ObjectNaming`] exactly as for a batch landed whole: a name that needs every id of the
//! object (a digest) is worked out as the ids arrive and fixed when the batch is sealed, so it is the same
//! whichever way the batch was put together.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::object::ObjectWriter;
use super::{LandError, LandReport, Lander, ObjectNaming, Objects};
use crate::event_id::{digest_hex, finish_digest_hex};
use crate::keys::Partition;
use crate::record::{rfc3339, LineStamp, Record, Unparsed};

/// A batch of records and unparsed items, compressed as they are added. Made by [`Lander::batch`].
pub struct CompressedBatch {
    lander: Lander,
    tag: String,
    scheme: Scheme,
    /// Compressed bytes at which an object goes up as a multipart upload; `usize::MAX` keeps every object in
    /// memory until the batch lands.
    part_bytes: usize,
    /// The ingestion time of the next line: when it is written, to the millisecond (refreshed only when the
    /// millisecond changed since the last line, so a burst of lines formats it once).
    stamp: LineStamp,
    stamped_at: Option<DateTime<Utc>>,
    /// Lines added over time get each their own time; a batch written in one go ([`Lander::land`]) one for all,
    /// which compresses better (half a byte per Transmit event).
    stamp_every_line: bool,
    open: BTreeMap<Partition, Pending>,
    events: usize,
    unparsed: usize,
    partition_fallbacks: usize,
}

/// [`ObjectNaming`] without its tag, which the batch owns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Content,
    FirstEvent,
    Once,
    Fixed,
}

/// One partition's object, with the digest of its ids while its name still waits for them.
struct Pending {
    object: ObjectWriter,
    /// Every id, each followed by `\n`, in the order added (content naming); `None` once the key is known.
    ids: Option<Sha256>,
}

impl Lander {
    /// Starts a batch held in memory until it lands, with objects named by `naming`.
    pub fn batch(&self, naming: ObjectNaming<'_>) -> CompressedBatch {
        let (scheme, tag) = match naming {
            ObjectNaming::Content { tag } => (Scheme::Content, tag),
            ObjectNaming::FirstEvent { tag } => (Scheme::FirstEvent, tag),
            ObjectNaming::Once { tag } => (Scheme::Once, tag),
            ObjectNaming::Fixed { tag } => (Scheme::Fixed, tag),
        };
        CompressedBatch {
            lander: self.clone(),
            tag: tag.to_owned(),
            scheme,
            part_bytes: usize::MAX,
            stamp: LineStamp::now(self.shape),
            stamped_at: None,
            stamp_every_line: true,
            open: BTreeMap::new(),
            events: 0,
            unparsed: 0,
            partition_fallbacks: 0,
        }
    }
}

impl CompressedBatch {
    /// Sends an object up in parts of `bytes` compressed bytes. Only for names known from an object's first line
    /// ([`ObjectNaming::Fixed`], [`ObjectNaming::FirstEvent`]): a multipart upload needs its key when it starts.
    pub(super) fn with_part_bytes(mut self, bytes: usize) -> Self {
        debug_assert!(matches!(self.scheme, Scheme::Fixed | Scheme::FirstEvent));
        self.part_bytes = bytes;
        self
    }

    /// Stamps every line with the time of the first: for a batch written in one go.
    pub(super) fn stamped_once(mut self) -> Self {
        self.stamp_every_line = false;
        self
    }

    /// Records added so far.
    pub fn events(&self) -> usize {
        self.events
    }

    /// Unparsed items added so far.
    pub fn unparsed(&self) -> usize {
        self.unparsed
    }

    /// Records and unparsed items added so far.
    pub fn lines(&self) -> usize {
        self.events + self.unparsed
    }

    pub fn is_empty(&self) -> bool {
        self.lines() == 0
    }

    /// Adds one record to its partition's object.
    pub fn push(&mut self, record: &Record) {
        self.add_record(record);
    }

    /// Adds one item that could not be parsed or mapped, under `_unparsed`.
    pub fn push_unparsed(&mut self, item: &Unparsed) {
        self.add_unparsed(item);
    }

    /// [`Self::push`], handing back the object it went to (and the lander to send its parts with).
    pub(super) fn add_record(&mut self, record: &Record) -> (&Lander, &mut ObjectWriter) {
        self.restamp();
        let partition = self.count(record);
        self.add(partition, self.scheme, &record.id, |out, stamp| {
            record.to_line(out, stamp)
        })
    }

    /// Adds records held all at once, for [`Lander::land`]: objects are named as if the records were added in the
    /// order given (so a batch landed again, by this version or an earlier one, keeps its keys), but each
    /// object's lines are written grouped by [`subject`]. One user's events share ids, device and application;
    /// grouped, these repeat within the compressor's window and compress away. Groups follow the order their
    /// subjects first appear in, and a group's lines the order given, so one user's events still read in the
    /// vendor's order.
    pub(super) fn push_grouped(&mut self, records: &[Record]) {
        self.restamp();
        let scheme = self.scheme;
        let partitions: Vec<Partition> = records
            .iter()
            .map(|record| {
                let partition = self.count(record);
                self.name(&partition, scheme, &record.id);
                partition
            })
            .collect();
        // Subjects in the order they first appear, so an object still reads roughly in the vendor's order.
        let mut groups: HashMap<Option<Cow<'_, str>>, u32> = HashMap::new();
        let group: Vec<u32> = records
            .iter()
            .map(|record| {
                let next = groups.len() as u32;
                *groups.entry(subject(record)).or_insert(next)
            })
            .collect();
        let mut order: Vec<usize> = (0..records.len()).collect();
        // Stable: records of one subject stay in the order given.
        order.sort_by_key(|&at| group[at]);
        for at in order {
            let record = &records[at];
            self.write(&partitions[at], &record.id, |out, stamp| {
                record.to_line(out, stamp)
            });
        }
    }

    /// The partition of `record`, counted.
    fn count(&mut self, record: &Record) -> Partition {
        let partition = Partition::for_event(record.vendor, &record.event_type, record.timestamp);
        if partition.is_fallback() {
            self.partition_fallbacks += 1;
        }
        self.events += 1;
        partition
    }

    /// [`Self::push_unparsed`], handing back the object it went to (and the lander to send its parts with).
    pub(super) fn add_unparsed(&mut self, item: &Unparsed) -> (&Lander, &mut ObjectWriter) {
        // Unparsed items have no trustworthy event time, so they are filed by ingestion hour. Their ids are digests
        // of the raw text and where it came from, so the same bad input met again at the same place lands under the
        // same key, and met elsewhere under another. Their object is named after all of them, never superseded:
        // unlike records, no repeat filter stands between a vendor resending one and a second flush starting
        // with it, so an object named after its first item could be replaced by one that lacks the rest.
        let at = self.restamp();
        let partition = Partition::unparsed(item.vendor, at);
        let scheme = match self.scheme {
            Scheme::Once => Scheme::Once,
            Scheme::Fixed => Scheme::Fixed,
            Scheme::Content | Scheme::FirstEvent => Scheme::Content,
        };
        self.unparsed += 1;
        let id = item.id();
        self.add(partition, scheme, &id, |out, stamp| {
            item.to_line(out, stamp)
        })
    }

    /// Stamps the next line with the time it is written, which is also the hour an `_unparsed` item is filed
    /// under. Not the time the batch was made, nor when it lands: a Lookout session makes its next batch right
    /// after a landing and may wait long for an event, and a line is written when its event is read.
    fn restamp(&mut self) -> DateTime<Utc> {
        if let (false, Some(at)) = (self.stamp_every_line, self.stamped_at) {
            return at;
        }
        let now = Utc::now();
        if self.stamped_at.map(|at| at.timestamp_millis()) != Some(now.timestamp_millis()) {
            self.stamped_at = Some(now);
            self.stamp.ingested = rfc3339(now);
        }
        now
    }

    fn add(
        &mut self,
        partition: Partition,
        scheme: Scheme,
        id: &str,
        write: impl FnOnce(&mut Vec<u8>, &LineStamp),
    ) -> (&Lander, &mut ObjectWriter) {
        self.name(&partition, scheme, id);
        self.write(&partition, id, write)
    }

    /// Counts `id` towards its partition's object name, opening the object for its first line. Names depend on
    /// the order ids are counted in, never on the order lines are written.
    fn name(&mut self, partition: &Partition, scheme: Scheme, id: &str) {
        let lander = &self.lander;
        let tag = &self.tag;
        let part_bytes = self.part_bytes;
        if !self.open.contains_key(partition) {
            // A name from all ids is only known when the batch is sealed; the others are known now.
            let (key, ids) = match scheme {
                Scheme::Content | Scheme::Once => (String::new(), Some(Sha256::new())),
                Scheme::FirstEvent => {
                    let name = format!("{tag}-{}", digest_hex(id.as_bytes()));
                    (partition.key(&lander.prefix, &name), None)
                }
                Scheme::Fixed => (partition.key(&lander.prefix, tag), None),
            };
            let mut object = ObjectWriter::new(lander, key, part_bytes);
            if scheme == Scheme::FirstEvent {
                object = object.superseding();
            }
            if scheme == Scheme::Once {
                object = object.written_once();
            }
            self.open.insert(partition.clone(), Pending { object, ids });
        }
        let pending = self.open.get_mut(partition).expect("opened above");
        if let Some(ids) = &mut pending.ids {
            ids.update(id.as_bytes());
            ids.update(b"\n");
        }
    }

    /// Writes one line into the object [`Self::name`] opened for its partition.
    fn write(
        &mut self,
        partition: &Partition,
        id: &str,
        write: impl FnOnce(&mut Vec<u8>, &LineStamp),
    ) -> (&Lander, &mut ObjectWriter) {
        let stamp = &self.stamp;
        let pending = self
            .open
            .get_mut(partition)
            .expect("a line is written only to an object named first");
        pending.object.push(id, |out| write(out, stamp));
        (&self.lander, &mut pending.object)
    }

    /// The objects with their final names, ready to be written.
    pub(super) fn seal(self) -> (Lander, Objects) {
        let prefix = &self.lander.prefix;
        let open = self
            .open
            .into_iter()
            .map(|(partition, Pending { mut object, ids })| {
                if let Some(ids) = ids {
                    let name = format!("{}-{}", self.tag, finish_digest_hex(ids));
                    object.set_key(partition.key(prefix, &name));
                }
                (partition, object)
            })
            .collect();
        let objects = Objects {
            open,
            partition_fallbacks: self.partition_fallbacks,
        };
        (self.lander, objects)
    }

    /// Writes every object: either all land, or the error says how many events did not (objects that did land are
    /// harmless: landing the same batch again rewrites them under the same keys).
    pub async fn land(self) -> Result<LandReport, LandError> {
        let (lander, objects) = self.seal();
        lander.write_all(objects).await
    }

    /// Drops the batch: open multipart uploads are aborted, nothing becomes visible.
    pub async fn abort(self) {
        for pending in self.open.values() {
            pending.object.abort(&self.lander).await;
        }
    }
}

/// ECS fields that say whom or what an event is about, most telling first: the user, else the device, else the
/// address it came from.
const SUBJECT_FIELDS: [&str; 4] = ["user.id", "host.id", "user.email", "source.ip"];

/// What [`CompressedBatch::push_grouped`] groups lines by: the first of [`SUBJECT_FIELDS`] the record holds as
/// text. Records with none make one group of their own.
fn subject(record: &Record) -> Option<Cow<'_, str>> {
    SUBJECT_FIELDS
        .iter()
        .find_map(|path| record.ecs.get(path)?.as_str())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::value::RawValue;

    use super::*;

    fn lander() -> Lander {
        Lander::without_storage("test", 6)
    }

    fn record(id: &str, hour: u32) -> Record {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, hour, 5, 0).unwrap();
        let original = RawValue::from_string(format!(r#"{{"id":"{id}"}}"#)).unwrap();
        Record::new("lookout", "threat", at, id, original)
    }

    fn keys(batch: CompressedBatch) -> Vec<String> {
        batch
            .seal()
            .1
            .open
            .into_values()
            .map(|o| o.key().to_owned())
            .collect()
    }

    #[test]
    fn a_name_from_all_ids_is_the_digest_of_the_ids_each_followed_by_a_newline() {
        // The formula every earlier version used: a batch re-sent after an upgrade must overwrite the same keys.
        let mut batch = lander().batch(ObjectNaming::Content { tag: "hec" });
        for id in ["a", "b", "c"] {
            batch.push(&record(id, 10));
        }
        let item = Unparsed::new("lookout", "{oops", "expected value");
        batch.push_unparsed(&item);
        let names: Vec<String> = keys(batch)
            .iter()
            .map(|k| k.rsplit('/').next().unwrap().to_owned())
            .collect();
        let unparsed = format!(
            "hec-{}.ndjson.gz",
            digest_hex(format!("{}\n", item.id()).as_bytes())
        );
        assert!(
            names.contains(&format!("hec-{}.ndjson.gz", digest_hex(b"a\nb\nc\n"))),
            "{names:?}"
        );
        assert!(names.contains(&unparsed), "{names:?}");
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn records_added_one_by_one_name_each_partition_after_its_first_event() {
        let mut batch = lander().batch(ObjectNaming::FirstEvent { tag: "events" });
        for (id, hour) in [("e1", 10), ("e2", 11), ("e3", 10), ("e4", 11), ("e5", 12)] {
            batch.push(&record(id, hour));
        }
        assert_eq!((batch.events(), batch.unparsed(), batch.lines()), (5, 0, 5));
        let keys = keys(batch);
        let expected: Vec<String> = [("10", "e1"), ("11", "e2"), ("12", "e5")]
            .iter()
            .map(|(hour, first)| {
                format!(
                    "tributary/vendor=lookout/event_type=threat/dt=2026-12-01/hour={hour}/events-{}.ndjson.gz",
                    digest_hex(first.as_bytes())
                )
            })
            .collect();
        assert_eq!(keys, expected);
    }

    #[test]
    fn each_line_is_stamped_when_it_is_written_not_when_the_batch_was_made() {
        // A session makes its next batch right after landing and may then wait a long time between events.
        let mut batch = lander().batch(ObjectNaming::FirstEvent { tag: "events" });
        let mut added_at = Vec::new();
        for id in ["first", "second"] {
            std::thread::sleep(std::time::Duration::from_millis(30));
            added_at.push(Utc::now() - chrono::Duration::milliseconds(1));
            batch.push(&record(id, 9));
        }
        let (_, objects) = batch.seal();
        let (_, body) = objects.open.into_values().next().unwrap().into_encoded();
        let lines = crate::ndjson::decode_lines(&body).unwrap();
        for (line, added_at) in lines.iter().zip(&added_at) {
            let line: serde_json::Value = serde_json::from_str(line).unwrap();
            let ingested: DateTime<Utc> =
                line["event"]["ingested"].as_str().unwrap().parse().unwrap();
            assert!(
                ingested >= *added_at,
                "{ingested} is before its line was added at {added_at}"
            );
        }
    }

    #[test]
    fn a_batch_written_in_one_go_stamps_every_line_with_one_time() {
        let mut batch = lander()
            .batch(ObjectNaming::Content { tag: "cis" })
            .stamped_once();
        batch.push(&record("first", 9));
        std::thread::sleep(std::time::Duration::from_millis(30));
        batch.push(&record("second", 9));
        let (_, objects) = batch.seal();
        let (_, body) = objects.open.into_values().next().unwrap().into_encoded();
        let stamps: Vec<String> = crate::ndjson::decode_lines(&body)
            .unwrap()
            .iter()
            .map(|line| {
                let line: serde_json::Value = serde_json::from_str(line).unwrap();
                line["event"]["ingested"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(stamps.len(), 2);
        assert_eq!(stamps[0], stamps[1]);
    }

    #[test]
    fn a_batch_encodes_every_line_in_the_order_added() {
        let mut batch = lander().batch(ObjectNaming::FirstEvent { tag: "events" });
        let ids: Vec<String> = (0..2_000).map(|n| format!("event-{n:05}")).collect();
        for id in &ids {
            batch.push(&record(id, 9));
        }
        let landed = landed_ids(batch).into_values().next().unwrap();
        assert_eq!(landed, ids);
    }

    fn by_user(id: &str, hour: u32, user: Option<&str>) -> Record {
        record(id, hour).with_path("user.id", user.map(serde_json::Value::from))
    }

    /// Event ids of each object's lines, in the order written, by key.
    fn landed_ids(batch: CompressedBatch) -> BTreeMap<String, Vec<String>> {
        ids_by_key(
            batch
                .seal()
                .1
                .open
                .into_values()
                .map(ObjectWriter::into_encoded),
        )
    }

    fn ids_by_key(
        objects: impl IntoIterator<Item = (String, Vec<u8>)>,
    ) -> BTreeMap<String, Vec<String>> {
        objects
            .into_iter()
            .map(|(key, body)| {
                let ids = crate::ndjson::decode_lines(&body)
                    .unwrap()
                    .iter()
                    .map(|line| {
                        let line: serde_json::Value = serde_json::from_str(line).unwrap();
                        line["event"]["id"].as_str().unwrap().to_owned()
                    })
                    .collect();
                (key, ids)
            })
            .collect()
    }

    /// A vendor's order: users interleaved, across two hours, one record without a user.
    fn interleaved() -> Vec<Record> {
        [
            ("e1", 10, Some("bob")),
            ("e2", 10, Some("amy")),
            ("e3", 11, Some("bob")),
            ("e4", 10, None),
            ("e5", 10, Some("bob")),
            ("e6", 10, Some("amy")),
            ("e7", 11, Some("amy")),
        ]
        .iter()
        .map(|(id, hour, user)| by_user(id, *hour, *user))
        .collect()
    }

    #[test]
    fn a_batch_landed_whole_writes_each_subject_together_in_the_order_given() {
        let mut batch = lander().batch(ObjectNaming::Content { tag: "hec" });
        batch.push_grouped(&interleaved());
        assert_eq!((batch.events(), batch.lines()), (7, 7));
        let objects: Vec<Vec<String>> = landed_ids(batch).into_values().collect();
        // Hour 10, then hour 11: bob's events (he comes first), then amy's, then those with no user, each group in
        // the vendor's order.
        assert_eq!(
            objects,
            [vec!["e1", "e5", "e2", "e6", "e4"], vec!["e3", "e7"]]
        );
        // What `Lander::land` writes is grouped the same way.
        let landed =
            lander().encode_only(&interleaved(), &[], ObjectNaming::Content { tag: "hec" });
        let landed: Vec<Vec<String>> = ids_by_key(landed).into_values().collect();
        assert_eq!(landed, objects);
    }

    #[test]
    fn grouping_lines_never_changes_an_object_name() {
        // A batch parked by a version that wrote lines in the vendor's order re-lands under the same keys, and
        // overwrites what that version landed instead of doubling it.
        for naming in [
            ObjectNaming::Content { tag: "hec" },
            ObjectNaming::FirstEvent { tag: "events" },
            ObjectNaming::Once { tag: "cis" },
        ] {
            let mut in_order = lander().batch(naming);
            for record in &interleaved() {
                in_order.push(record);
            }
            let mut grouped = lander().batch(naming);
            grouped.push_grouped(&interleaved());
            let in_order = landed_ids(in_order);
            let grouped = landed_ids(grouped);
            assert_eq!(
                in_order.keys().collect::<Vec<_>>(),
                grouped.keys().collect::<Vec<_>>()
            );
            for (key, ids) in &in_order {
                let mut written = grouped[key].clone();
                let mut given = ids.clone();
                written.sort();
                given.sort();
                assert_eq!(written, given, "{key}");
            }
        }
        let mut batch = lander().batch(ObjectNaming::Content { tag: "hec" });
        batch.push_grouped(&interleaved());
        let names: Vec<String> = landed_ids(batch)
            .into_keys()
            .map(|key| key.rsplit('/').next().unwrap().to_owned())
            .collect();
        assert!(
            names.contains(&format!(
                "hec-{}.ndjson.gz",
                digest_hex(b"e1\ne2\ne4\ne5\ne6\n")
            )),
            "{names:?}"
        );
    }

    #[test]
    fn a_subject_is_the_user_else_the_device_else_the_address() {
        let user_and_host = record("a", 9)
            .with_path("host.id", Some("device-1".into()))
            .with_path("user.id", Some("user-1".into()));
        let host_only = record("b", 9).with_path("host.id", Some("device-1".into()));
        let numeric_user = record("c", 9)
            .with_path("user.id", Some(7.into()))
            .with_path("source.ip", Some("192.0.2.1".into()));
        assert_eq!(subject(&user_and_host).as_deref(), Some("user-1"));
        assert_eq!(subject(&host_only).as_deref(), Some("device-1"));
        assert_eq!(subject(&numeric_user).as_deref(), Some("192.0.2.1"));
        assert_eq!(subject(&record("d", 9)), None);
    }
}
