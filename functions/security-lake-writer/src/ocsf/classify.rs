//! Which OCSF class a landed record belongs to, and its activity in that class, from the ECS facts every collector
//! writes (`event.kind`, `category`, `type`, `action`). The choices, and why, are in the README.

use super::Class;

/// The ECS facts of one record that decide its class.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub vendor: &'a str,
    pub event_type: &'a str,
    pub kind: &'a str,
    pub action: &'a str,
    pub category: &'a [&'a str],
    pub types: &'a [&'a str],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub class: Class,
    pub activity_id: u32,
}

/// The class and activity of a record, or `None` when no class fits (the record becomes a Base Event).
pub fn classify(facts: &Facts<'_>) -> Option<Choice> {
    let has = |category: &str| facts.category.contains(&category);
    let is = |ty: &str| facts.types.contains(&ty);
    let action = facts.action.to_ascii_lowercase();
    let choice = |class, activity_id| Some(Choice { class, activity_id });

    // Alerts and risk verdicts are findings: Lookout threats and smishing alerts, Transmit risk recommendations.
    if facts.kind == "alert" || has("threat") || has("intrusion_detection") {
        let activity = if action.ends_with("updated") {
            2
        } else if ["closed", "resolved", "deleted"]
            .iter()
            .any(|w| action.ends_with(w))
        {
            3
        } else {
            1
        };
        return choice(Class::DetectionFinding, activity);
    }
    if has("host") {
        return choice(Class::DeviceInventoryInfo, 1);
    }
    if has("authentication") {
        let activity = if is("start") {
            1
        } else if is("end") {
            2
        } else {
            99
        };
        return choice(Class::Authentication, activity);
    }
    if has("iam") {
        let activity = if is("creation") {
            1
        } else if is("deletion") {
            6
        } else if action.contains("password") && action.contains("reset") {
            4
        } else if action.contains("password") {
            3
        } else if action.contains("disable") {
            5
        } else if action.contains("enable") {
            2
        } else if action.contains("lock") {
            9
        } else {
            99
        };
        return choice(Class::AccountChange, activity);
    }
    if has("configuration") {
        let activity = if is("creation") {
            1
        } else if is("deletion") {
            4
        } else if is("change") {
            3
        } else if is("access") {
            2
        } else {
            99
        };
        // Transmit's admin events are calls of its management API (actor, operation, target resource); the other
        // vendors' audits describe a changed entity (its type, name, before and after).
        let class = if facts.vendor == "transmit" {
            Class::ApiActivity
        } else {
            Class::EntityManagement
        };
        return choice(class, activity);
    }
    if has("web") {
        let activity = if action.contains("sent") {
            8
        } else if is("access") {
            2
        } else {
            3
        };
        return choice(Class::WebResourcesActivity, activity);
    }
    // What is left of a vendor's stream belongs with the rest of it: Transmit's journeys and steps are parts of
    // authentication flows, EasySend's other events happen on its forms.
    match (facts.vendor, facts.event_type) {
        ("transmit", "cis" | "verify") => choice(Class::Authentication, 99),
        ("easysend", _) => choice(Class::WebResourcesActivity, 99),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(
        vendor: &str,
        event_type: &str,
        kind: &str,
        action: &str,
        category: &[&str],
        types: &[&str],
    ) -> Option<Choice> {
        classify(&Facts {
            vendor,
            event_type,
            kind,
            action,
            category,
            types,
        })
    }

    #[test]
    fn every_vendor_stream_has_its_class() {
        let auth = &["authentication", "session"];
        let cases = [
            (
                of("transmit", "cis", "event", "user_login", auth, &["start"]),
                Class::Authentication,
                1,
            ),
            (
                of("transmit", "cis", "event", "user_logout", auth, &["end"]),
                Class::Authentication,
                2,
            ),
            (
                of(
                    "transmit",
                    "cis",
                    "event",
                    "create_user",
                    &["iam"],
                    &["user", "creation"],
                ),
                Class::AccountChange,
                1,
            ),
            (
                of(
                    "transmit",
                    "cis",
                    "event",
                    "add_password",
                    &["iam"],
                    &["user", "change"],
                ),
                Class::AccountChange,
                3,
            ),
            (
                of(
                    "transmit",
                    "cis",
                    "event",
                    "journey_started",
                    &[],
                    &["info"],
                ),
                Class::Authentication,
                99,
            ),
            (
                of(
                    "transmit",
                    "admin",
                    "event",
                    "createApp",
                    &["configuration"],
                    &["creation"],
                ),
                Class::ApiActivity,
                1,
            ),
            (
                of(
                    "transmit",
                    "admin",
                    "event",
                    "deleteUser",
                    &["configuration"],
                    &["deletion"],
                ),
                Class::ApiActivity,
                4,
            ),
            (
                of(
                    "transmit",
                    "risk",
                    "event",
                    "risk_recommendation",
                    &["intrusion_detection"],
                    &["info"],
                ),
                Class::DetectionFinding,
                1,
            ),
            (
                of(
                    "transmit",
                    "verify",
                    "event",
                    "verification_completed",
                    &["authentication"],
                    &["end"],
                ),
                Class::Authentication,
                2,
            ),
            (
                of(
                    "transmit",
                    "verify",
                    "event",
                    "image_uploaded",
                    &[],
                    &["info"],
                ),
                Class::Authentication,
                99,
            ),
            (
                of(
                    "easysend",
                    "player",
                    "event",
                    "OTP_FAILED",
                    &["authentication"],
                    &["start"],
                ),
                Class::Authentication,
                1,
            ),
            (
                of(
                    "easysend",
                    "player",
                    "event",
                    "LINK_SENT",
                    &["web"],
                    &["info"],
                ),
                Class::WebResourcesActivity,
                8,
            ),
            (
                of(
                    "easysend",
                    "player",
                    "event",
                    "OPENED",
                    &["web"],
                    &["access"],
                ),
                Class::WebResourcesActivity,
                2,
            ),
            (
                of(
                    "easysend",
                    "player",
                    "event",
                    "DATA_SUBMITTED",
                    &["web"],
                    &["info"],
                ),
                Class::WebResourcesActivity,
                3,
            ),
            (
                of("easysend", "builder", "event", "Whatever", &[], &["info"]),
                Class::WebResourcesActivity,
                99,
            ),
            (
                of(
                    "lookout",
                    "threat",
                    "alert",
                    "threat-created",
                    &["threat"],
                    &["indicator"],
                ),
                Class::DetectionFinding,
                1,
            ),
            (
                of(
                    "lookout",
                    "threat",
                    "alert",
                    "threat-updated",
                    &["threat"],
                    &["indicator"],
                ),
                Class::DetectionFinding,
                2,
            ),
            (
                of(
                    "lookout",
                    "smishing_alert",
                    "alert",
                    "smishing_alert-created",
                    &["threat", "web"],
                    &["indicator"],
                ),
                Class::DetectionFinding,
                1,
            ),
            (
                of(
                    "lookout",
                    "device",
                    "event",
                    "device-updated",
                    &["host"],
                    &["info", "change"],
                ),
                Class::DeviceInventoryInfo,
                1,
            ),
            (
                of(
                    "lookout",
                    "audit",
                    "event",
                    "audit-updated",
                    &["configuration"],
                    &["change"],
                ),
                Class::EntityManagement,
                3,
            ),
            (
                of("strivacity", "account", "event", "login", auth, &["start"]),
                Class::Authentication,
                1,
            ),
            (
                of(
                    "strivacity",
                    "account",
                    "event",
                    "registration",
                    &["iam"],
                    &["user", "creation"],
                ),
                Class::AccountChange,
                1,
            ),
            (
                of(
                    "strivacity",
                    "audit",
                    "event",
                    "create",
                    &["configuration"],
                    &["creation"],
                ),
                Class::EntityManagement,
                1,
            ),
        ];
        for (got, class, activity) in cases {
            assert_eq!(
                got,
                Some(Choice {
                    class,
                    activity_id: activity
                })
            );
        }
    }

    #[test]
    fn a_record_no_class_fits_is_left_to_the_fallback() {
        assert_eq!(of("strivacity", "account", "event", "", &[], &[]), None);
        assert_eq!(of("lookout", "unknown", "event", "x", &[], &["info"]), None);
    }
}
