//! Unparsed items a retry meets again. An `_unparsed` item has no event time, so it is filed under the hour it is
//! written in, and its object is named after all the items in it. A retry of what landed it can then file a
//! second copy beside the first:
//!
//! - in the next hour: a pushed request sent again after its answer was lost, a stream replayed from its
//!   checkpoint after a flush failed or a run died, a kept batch landed by the next run;
//! - in the same hour, when a replay groups the items otherwise: the object gets another name.
//!
//! The item's id does not change (it is a digest of its text and of where it came from), so before landing
//! items that may have landed already, their writer reads the ids landed under its tag in this hour and the hour
//! before, and leaves those items out. It reads only when a batch holds unparsed items, so landing costs nothing
//! more in the usual case. Not covered: a retry more than an hour after the landing it repeats, and an object
//! whose key would pass 1024 bytes (named by a digest, so not under its tag; tags are short).

use std::borrow::Cow;
use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};

use super::earlier::line_id;
use super::object::id_digest;
use super::Lander;
use crate::keys::Partition;
use crate::record::Unparsed;

/// The ids of the unparsed items landed under one tag around a time.
#[derive(Debug, Default)]
pub struct LandedUnparsed {
    ids: HashSet<u128>,
}

impl LandedUnparsed {
    /// Whether `item` is among them.
    pub fn contains(&self, item: &Unparsed) -> bool {
        !self.ids.is_empty() && self.ids.contains(&id_digest(&item.id()))
    }

    /// The items of `items` not among them: `items` itself when none is (as is usual), so nothing is copied.
    pub fn not_landed<'a>(&self, items: &'a [Unparsed]) -> Cow<'a, [Unparsed]> {
        if !items.iter().any(|item| self.contains(item)) {
            return Cow::Borrowed(items);
        }
        Cow::Owned(
            items
                .iter()
                .filter(|item| !self.contains(item))
                .cloned()
                .collect(),
        )
    }
}

impl Lander {
    /// The ids of `vendor`'s unparsed items in objects named after `tag`, landed in `at`'s hour or the hour before.
    /// An error when an object cannot be listed or read: landing the items anyway could double them, so the caller
    /// answers as it does to a failed landing.
    pub async fn unparsed_landed_near(
        &self,
        vendor: &'static str,
        tag: &str,
        at: DateTime<Utc>,
    ) -> Result<LandedUnparsed, String> {
        let mut landed = LandedUnparsed::default();
        for hour in [at - Duration::hours(1), at] {
            let names = Partition::unparsed(vendor, hour).names_under(&self.prefix, tag);
            for object in self.list(&names, None).await? {
                let Some(key) = object.key else { continue };
                self.each_line(&key, |line| landed.ids.extend(line_id(line)))
                    .await
                    .map_err(|e| {
                        format!(
                            "reading {key} for the unparsed items it holds: {e}; move a damaged object aside"
                        )
                    })?;
            }
        }
        Ok(landed)
    }
}
