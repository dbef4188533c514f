//! The lean record shape: the vendor fields that ECS fields carry verbatim are written once, under ECS, and the
//! vendor key keeps the rest. [`original_of`] puts the original back together from either shape.
//!
//! A vendor field moves only when its ECS field holds exactly its JSON text. Each [`Move`] names the one vendor
//! field its ECS field is filled from, or the other vendor field that may fill it instead (`unless_same_as`, which
//! never moves itself). So "field absent under the vendor key, ECS field present (and not the other field's
//! value)" can only mean "moved", and the original is rebuilt without knowing which shape a line has.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::{Field, Record};
use crate::members::{is_json_text_of, CanonicalJson, Key, Members};

/// A vendor field that lean records write once, under ECS.
#[derive(Debug, Clone, Copy)]
pub struct Move {
    /// The vendor field: a member of the vendor's event, or a dotted path into its objects (`event.action`).
    pub field: &'static str,
    /// The ECS field that carries it.
    pub ecs: &'static str,
    /// `None`: the value moves whole. `Some(except)`: the field is an object whose members move one by one, each
    /// to the same name under `ecs`; the names in `except` are filled from elsewhere and never move.
    pub members: Option<&'static [&'static str]>,
    /// Another vendor field the mapping may fill the same ECS field from (for a member move: the object whose
    /// member of the same name may). Where it holds the same value, this field stays, so the original cannot be
    /// rebuilt wrongly from it.
    pub unless_same_as: Option<&'static str>,
}

impl Move {
    const fn whole(field: &'static str, ecs: &'static str) -> Move {
        Move {
            field,
            ecs,
            members: None,
            unless_same_as: None,
        }
    }

    const fn members(
        field: &'static str,
        ecs: &'static str,
        except: &'static [&'static str],
    ) -> Move {
        Move {
            field,
            ecs,
            members: Some(except),
            unless_same_as: None,
        }
    }

    const fn unless_same_as(mut self, other: &'static str) -> Move {
        self.unless_same_as = Some(other);
        self
    }
}

/// The moves of each vendor. The README's record-shape table is this list in words.
pub const MOVES: &[(&str, &[Move])] = &[
    (
        "transmit",
        &[
            Move::whole("activity", "event.action"),
            Move::whole("timestamp", "@timestamp"),
            Move::whole("ip", "source.ip"),
            Move::whole("user_agent", "user_agent.original"),
            Move::whole("app_id", "service.id"),
            Move::whole("tenant_id", "organization.id"),
            Move::whole("device_id", "device.id"),
            // `user.id` is the admin's `actor_id` when there is no `user_id`, and the user's address or name
            // the admin's `original_actor_id` when there is no `original_user_id`.
            Move::whole("user_id", "user.id").unless_same_as("actor_id"),
            Move::whole("original_user_id", "user.email").unless_same_as("original_actor_id"),
            Move::whole("original_user_id", "user.name").unless_same_as("original_actor_id"),
            Move::whole("target_resource_id", "user.target.id"),
        ],
    ),
    (
        "easysend",
        &[
            Move::whole("message", "message"),
            // Objects move member by member: ECS writes an object's members in its own order.
            Move::members("url", "url", &[]),
            Move::members("organization", "organization", &[]),
            Move::members("service", "service", &[]),
            Move::whole("event.action", "event.action"),
            // `client.geo` is the log's `geo` when it has one.
            Move::members("client", "client", &["geo"]),
            Move::whole("geo", "client.geo").unless_same_as("client.geo"),
            // `user_agent.os` also takes what the log's `os` adds.
            Move::members("user_agent", "user_agent", &["os"]),
            Move::members("user_agent.os", "user_agent.os", &[]).unless_same_as("os"),
            Move::members("label", "labels", &[]),
        ],
    ),
    (
        "lookout",
        &[
            Move::whole("id", "event.id"),
            Move::whole("created_time", "event.created"),
            Move::whole("enterprise_guid", "organization.id"),
            // Only an audit's admin actor is `user.id`.
            Move::whole("actor.guid", "user.id"),
        ],
    ),
    ("strivacity", &[]),
];

/// The moves of `vendor` (none for a vendor not listed).
pub fn moves(vendor: &str) -> &'static [Move] {
    MOVES
        .iter()
        .find(|(v, _)| *v == vendor)
        .map_or(&[], |(_, moves)| moves)
}

/// `field` read from inside `prefix`: what follows `prefix.` (all of `field` when `prefix` is the event itself).
fn below<'f>(field: &'f str, prefix: &str) -> Option<&'f str> {
    if prefix.is_empty() {
        return Some(field);
    }
    field.strip_prefix(prefix)?.strip_prefix('.')
}

/// True when the record writes exactly the JSON text `raw` at the ECS field `path`. `timestamp` is the
/// record's `@timestamp` as written.
fn carries(record: &Record, path: &str, raw: &str, timestamp: &str) -> bool {
    let is = |text: Option<&str>| text.is_some_and(|text| is_json_text_of(raw, text));
    match path {
        "@timestamp" => is(Some(timestamp)),
        "event.id" => is(Some(&record.id)),
        "event.action" => is(record.action.as_deref()),
        "event.created" => is(record.created.as_deref()),
        _ => match record.ecs.get(path) {
            Some(Field::Value(Value::String(text))) => is_json_text_of(raw, text),
            Some(Field::Canonical(json)) => json.as_str() == raw,
            _ => record.ecs.json_text_at(path).as_deref() == Some(raw),
        },
    }
}

/// The raw value of the vendor field `path` (and its member `member`) in the event's members.
fn vendor_value<'a>(event: &Members<'a>, path: &str, member: Option<&str>) -> Option<&'a str> {
    let mut parts = path.split('.').chain(member);
    let mut value = event.get(parts.next()?)?;
    for part in parts {
        value = Members::parse(value).ok()?.get(part)?;
    }
    Some(value)
}

/// True when the mapping may have filled an ECS field holding `b` from a vendor field holding `a` (or the other
/// way round): the same value, strings compared without the whitespace mappings trim. Both sides of a move use
/// this one test, so what the writer keeps for it is what [`original_of`] leaves alone.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => a.trim() == b.trim(),
        _ => a == b,
    }
}

fn same_json(a: &str, b: &str) -> bool {
    matches!(
        (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)),
        (Ok(a), Ok(b)) if same_value(&a, &b)
    )
}

/// What a lean line does with the members of one object of the vendor's event, worked out once per vendor from
/// its [`Move`]s rather than again for every object of every event: the members that move whole, the moves that
/// take this object's members one by one, and the members that hold fields that move (written member by member
/// themselves, by their own plan).
#[derive(Debug)]
struct ObjectPlan {
    /// A member's name and the move that takes it whole.
    whole: Vec<(&'static str, &'static Move)>,
    /// The moves whose field is this object, each with the names of its members that never move: the others move
    /// one by one.
    member_moves: Vec<(&'static Move, &'static [&'static str])>,
    /// A member's name and the plan of the object it holds.
    holders: Vec<(&'static str, ObjectPlan)>,
}

impl ObjectPlan {
    /// The plan of the object at `prefix` (`""` for the event).
    fn of(moves: &'static [Move], prefix: &str) -> ObjectPlan {
        ObjectPlan {
            whole: moves
                .iter()
                .filter(|m| m.members.is_none())
                .filter_map(|m| Some((below(m.field, prefix).filter(|f| !f.contains('.'))?, m)))
                .collect(),
            member_moves: moves
                .iter()
                .filter(|m| m.field == prefix)
                .filter_map(|m| Some((m, m.members?)))
                .collect(),
            holders: holders(moves, prefix)
                .into_iter()
                .map(|name| {
                    let path = if prefix.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{prefix}.{name}")
                    };
                    (name, ObjectPlan::of(moves, &path))
                })
                .collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.whole.is_empty() && self.member_moves.is_empty() && self.holders.is_empty()
    }

    /// The plan of the event of `vendor` (moving nothing for a vendor not listed).
    fn of_vendor(vendor: &str) -> &'static ObjectPlan {
        static PLANS: OnceLock<Vec<(&'static str, ObjectPlan)>> = OnceLock::new();
        static NONE: ObjectPlan = ObjectPlan {
            whole: Vec::new(),
            member_moves: Vec::new(),
            holders: Vec::new(),
        };
        PLANS
            .get_or_init(|| {
                MOVES
                    .iter()
                    .map(|(vendor, moves)| (*vendor, ObjectPlan::of(moves, "")))
                    .collect()
            })
            .iter()
            .find(|(v, _)| *v == vendor)
            .map_or(&NONE, |(_, plan)| plan)
    }
}

/// Writes the vendor key of a lean record: `original` without the members that moved (`original` as it stands
/// when it is not an object).
pub(super) fn write_vendor_object(
    record: &Record,
    original: &str,
    timestamp: &str,
    out: &mut Vec<u8>,
) {
    // The members the mapping read already, when it kept where they lie. `original` may be the record's original
    // with its line breaks turned to spaces, byte for byte in the same places, so the spans fit it as well.
    let kept = record
        .original_members
        .as_ref()
        .and_then(|spans| Members::at(original, spans));
    let Some(event) = kept.or_else(|| Members::parse(original).ok()) else {
        out.extend_from_slice(original.as_bytes());
        return;
    };
    let lean = Lean {
        record,
        timestamp,
        event: &event,
    };
    lean.write_object(&event, ObjectPlan::of_vendor(record.vendor), out);
}

/// One lean record's vendor object being written.
struct Lean<'r, 'a> {
    record: &'r Record,
    timestamp: &'r str,
    event: &'r Members<'a>,
}

/// A member move into the object being written, with what it is compared against resolved once per object.
struct MemberMove<'r, 'a> {
    m: &'static Move,
    except: &'static [&'static str],
    /// The ECS object the members move into, when one entry holds it; `None` when deeper entries make it up.
    carried: Option<Carried<'r>>,
    /// The vendor object whose member of the same name may fill the ECS member instead.
    other: Option<Members<'a>>,
}

/// The ECS value a member move compares the vendor's members with.
enum Carried<'r> {
    Value(&'r Value),
    /// The members of an object held as canonical JSON, in key order (none when it is not an object), read once
    /// per object.
    Canonical(Vec<(Key<'r>, CanonicalJson<'r>)>),
}

impl<'r> Carried<'r> {
    fn of(field: Field<'r>) -> Self {
        match field {
            Field::Value(value) => Carried::Value(value),
            Field::Canonical(json) => Carried::Canonical(json.members()),
        }
    }
}

impl<'r, 'a> Lean<'r, 'a> {
    /// Writes an object of the event by its plan: without its moved members, rewriting the objects that hold moved
    /// fields the same way.
    fn write_object(&self, members: &Members<'_>, plan: &ObjectPlan, out: &mut Vec<u8>) {
        let member_moves: Vec<MemberMove<'r, 'a>> = plan
            .member_moves
            .iter()
            .map(|&(m, except)| MemberMove {
                m,
                except,
                carried: self.record.ecs.get(m.ecs).map(Carried::of),
                other: m
                    .unless_same_as
                    .and_then(|other| vendor_value(self.event, other, None))
                    .and_then(|other| Members::parse(other).ok()),
            })
            .collect();
        // A key the vendor gave twice (in any spelling: `ip` and `\u0069p` are one key) stays as given, both
        // times: readers take its last value, and moving one copy would leave the other to stand for it. Where
        // nothing moves, nothing needs the check.
        let twice = if plan.is_empty() {
            Vec::new()
        } else {
            given_twice(members)
        };
        out.push(b'{');
        let mut first = true;
        for (key, value) in members.iter() {
            let name = key.as_str();
            let once = twice.binary_search(&name).is_err();
            let moved = once
                && (plan
                    .whole
                    .iter()
                    .any(|(member, m)| *member == name && self.moves_whole(m, value))
                    || member_moves
                        .iter()
                        .any(|mm| self.moves_member(mm, name, value)));
            if moved {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            key.write_json(out);
            out.push(b':');
            let inner = plan
                .holders
                .iter()
                .filter(|_| once)
                .find(|(holder, _)| *holder == name)
                .and_then(|(_, inner_plan)| Some((Members::parse(value).ok()?, inner_plan)));
            match inner {
                Some((inner, inner_plan)) => self.write_object(&inner, inner_plan, out),
                None => out.extend_from_slice(value.as_bytes()),
            }
        }
        out.push(b'}');
    }

    /// True when ECS carries the vendor field `m` moves whole, holding `value`.
    fn moves_whole(&self, m: &Move, value: &str) -> bool {
        carries(self.record, m.ecs, value, self.timestamp)
            && !m
                .unless_same_as
                .and_then(|other| vendor_value(self.event, other, None))
                .is_some_and(|held| same_json(held, value))
    }

    /// True when the member `key` moves by `mm`: ECS holds exactly its text under the same name.
    fn moves_member(&self, mm: &MemberMove<'_, '_>, key: &str, raw: &str) -> bool {
        if key.contains('.') || mm.except.contains(&key) {
            return false;
        }
        let carried = match &mm.carried {
            Some(Carried::Value(Value::Object(carried))) => match carried.get(key) {
                Some(Value::String(text)) => is_json_text_of(raw, text),
                Some(other) => serde_json::to_string(other).is_ok_and(|text| text == raw),
                None => false,
            },
            // Canonical text is what `serde_json` writes for the value: the same test, without writing anything.
            // Its members are in key order.
            Some(Carried::Canonical(members)) => members
                .binary_search_by(|(k, _)| k.as_str().cmp(key))
                .is_ok_and(|at| members[at].1.as_str() == raw),
            Some(_) => false,
            None => carries(
                self.record,
                &format!("{}.{key}", mm.m.ecs),
                raw,
                self.timestamp,
            ),
        };
        carried
            && !mm
                .other
                .as_ref()
                .and_then(|other| other.get(key))
                .is_some_and(|held| same_json(held, raw))
    }
}

/// The members of the object at `prefix` that hold fields that may move, and so are written member by member
/// themselves.
fn holders(moves: &[Move], prefix: &str) -> Vec<&'static str> {
    let mut holders: Vec<&'static str> = moves
        .iter()
        .filter_map(|m| {
            let rest = below(m.field, prefix)?;
            match rest.split_once('.') {
                Some((holder, _)) => Some(holder),
                None => m.members.is_some().then_some(rest),
            }
        })
        .collect();
    holders.sort_unstable();
    holders.dedup();
    holders
}

/// The keys `members` gives more than once (decoded: `ip` and `\u0069p` are one key), sorted for a binary search.
/// Found by sorting a hash of each key with it: keys can be equal only where their hashes are, so strings are
/// compared only there (for most objects, nowhere), and hostile input with colliding hashes still costs a sort.
fn given_twice<'m>(members: &'m Members<'_>) -> Vec<&'m str> {
    let mut keys: Vec<(u64, &str)> = members
        .iter()
        .map(|(key, _)| (fnv1a(key.as_str()), key.as_str()))
        .collect();
    keys.sort_unstable();
    let mut twice: Vec<&str> = keys
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0].1)
        .collect();
    twice.sort_unstable();
    twice.dedup();
    twice
}

/// The 64-bit FNV-1a hash of `text`: cheap for the short keys of an event.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The vendor's event from a landed record line of either shape: the vendor key, with the moved fields taken
/// back from their ECS fields. `None` for a line with no vendor object (an `_unparsed` line).
pub fn original_of(line: &Value) -> Option<Value> {
    let vendor = line.pointer("/event/module")?.as_str()?;
    let mut original: Map<String, Value> = line.get(vendor)?.as_object()?.clone();
    for m in moves(vendor) {
        let Some(carried) = value_at(line, m.ecs.split('.')) else {
            continue;
        };
        match (m.members, carried) {
            (None, _) => restore(&mut original, m, None, carried),
            (Some(except), Value::Object(carried)) => {
                for (name, value) in carried {
                    if !except.contains(&name.as_str()) && !name.contains('.') {
                        restore(&mut original, m, Some(name), value);
                    }
                }
            }
            (Some(_), _) => {}
        }
    }
    Some(Value::Object(original))
}

fn value_at<'v, 'p>(
    value: &'v Value,
    mut path: impl Iterator<Item = &'p str>,
) -> Option<&'v Value> {
    path.try_fold(value, |value, part| value.get(part))
}

/// Puts `value` back at the move's field (its member `name`), unless the original has it or the field the
/// mapping may have filled the ECS field from instead holds it.
fn restore(original: &mut Map<String, Value>, m: &Move, name: Option<&str>, value: &Value) {
    let held = |field: &str| {
        let mut path = field.split('.').chain(name);
        value_at(original.get(path.next()?)?, path)
    };
    if held(m.field).is_some()
        || m.unless_same_as
            .and_then(held)
            .is_some_and(|held| same_value(held, value))
    {
        return;
    }
    insert_at(original, m.field.split('.').chain(name), value.clone());
}

/// Inserts `value` at `path`, making the objects on the way.
fn insert_at<'p>(
    object: &mut Map<String, Value>,
    path: impl Iterator<Item = &'p str>,
    value: Value,
) {
    let parts: Vec<&str> = path.collect();
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    let mut object = object;
    for part in parents {
        let child = object
            .entry(*part)
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(child) = child else {
            // Not reachable from a landed line: a moved field's parents are objects in the original.
            return;
        };
        object = child;
    }
    object.insert((*last).to_owned(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `original_of` tells "moved" from "filled from the other field" by the other field's value in the line, so
    /// that field must be under the vendor key in every lean line: never moved itself.
    #[test]
    fn a_field_an_ecs_field_may_be_filled_from_instead_never_moves() {
        for (vendor, moves) in MOVES {
            for other in moves.iter().filter_map(|m| m.unless_same_as) {
                for m in moves.iter() {
                    assert_ne!(m.field, other, "{vendor}: {other} moves");
                    let member_of = other.rsplit_once('.').is_some_and(|(parent, name)| {
                        m.field == parent && m.members.is_some_and(|except| !except.contains(&name))
                    });
                    assert!(
                        !member_of,
                        "{vendor}: {other} moves as a member of {}",
                        m.field
                    );
                    assert!(
                        !(m.members.is_some() && m.field == other),
                        "{vendor}: the members of {other} move"
                    );
                }
            }
        }
    }

    #[test]
    fn keys_given_twice_are_found_in_any_spelling_and_only_those() {
        let members = Members::parse(
            r#"{"ip":1,"a":2,"\u0069p":3,"b":4,"a":5,"a":6,"ab":7,"ba":8,"":9,"":10}"#,
        )
        .unwrap();
        assert_eq!(given_twice(&members), ["", "a", "ip"]);
        let once = Members::parse(r#"{"x":1,"y":2,"xy":3,"yx":4}"#).unwrap();
        assert!(given_twice(&once).is_empty());
    }

    #[test]
    fn paths_name_members_never_keys_with_dots() {
        let easysend = moves("easysend");
        let whole =
            |plan: &ObjectPlan| plan.whole.iter().map(|(name, _)| *name).collect::<Vec<_>>();
        let event = ObjectPlan::of_vendor("easysend");
        assert!(whole(event).contains(&"geo"));
        let (_, inner) = event
            .holders
            .iter()
            .find(|(name, _)| *name == "event")
            .unwrap();
        assert_eq!(whole(inner), ["action"]);
        assert_eq!(
            holders(easysend, ""),
            [
                "client",
                "event",
                "label",
                "organization",
                "service",
                "url",
                "user_agent"
            ]
        );
        assert_eq!(holders(easysend, "user_agent"), ["os"]);
        assert!(holders(easysend, "user_agent.os").is_empty());
        assert!(holders(moves("transmit"), "").is_empty());
        assert_eq!(holders(moves("lookout"), ""), ["actor"]);
    }
}
