//! The Mosaic activity catalogue as ECS `event.category`, `event.type` and `event.outcome`.
//!
//! The catalogue names activities in prose ("Journey completed unsuccessfully"), the admin list
//! in camelCase (`adminLogin`) and the API examples in snake_case (`admin_login`,
//! `risk_recommendation`). Names are looked up after folding case and dropping everything but
//! letters and digits, so all three spellings meet. Categories and types stay within the
//! combinations ECS allows (authentication: start/end/info; iam: admin/change/creation/
//! deletion/user/info; configuration: change/creation/deletion/info; intrusion_detection:
//! allowed/denied/info; network: connection).

use tributary_shared::record::Outcome;

use crate::event_type::EventType;

/// How one activity reads in ECS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    pub category: &'static [&'static str],
    pub types: &'static [&'static str],
    pub outcome: Outcome,
    /// Whether the activity is in the catalogue (an unknown one gets a best guess).
    pub known: bool,
}

const fn c(
    category: &'static [&'static str],
    types: &'static [&'static str],
    outcome: Outcome,
) -> Classification {
    Classification {
        category,
        types,
        outcome,
        known: true,
    }
}

const AUTH: &[&str] = &["authentication"];
const AUTH_SESSION: &[&str] = &["authentication", "session"];
const IAM: &[&str] = &["iam"];
const CONFIG: &[&str] = &["configuration"];
const DETECTION: &[&str] = &["intrusion_detection"];
const NETWORK: &[&str] = &["network"];

use Outcome::{Failure, Success, Unknown};

/// `adminLogin`, `admin_login` and "Admin login" all become `adminlogin`.
pub fn normalize(activity: &str) -> String {
    activity
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|ch| ch.to_ascii_lowercase())
        .collect()
}

/// The classification of `activity` for an event of type `t`.
pub fn classify(t: EventType, activity: &str) -> Classification {
    classify_key(t, &normalize(activity))
}

/// The classification of an activity already [`normalize`]d to `key`.
pub fn classify_key(t: EventType, key: &str) -> Classification {
    known(key).unwrap_or_else(|| guess(t, key))
}

fn known(key: &str) -> Option<Classification> {
    Some(match key {
        // Journey events (cis).
        "journeystarted" => c(AUTH, &["start"], Unknown),
        "journeycompletedsuccessfully" => c(AUTH, &["end"], Success),
        "journeycompletedunsuccessfully" => c(AUTH, &["end"], Failure),
        "stepstarted" => c(AUTH, &["start"], Unknown),
        "stepcompleted" => c(AUTH, &["end"], Success),
        "customevent" => c(&[], &["info"], Unknown),
        "externalconnectioncall" => c(NETWORK, &["connection"], Unknown),
        // User management and authentication (cis).
        "userlogout" => c(AUTH_SESSION, &["end"], Success),
        "createuserfailure" => c(IAM, &["user", "creation"], Failure),
        "addpassword" => c(IAM, &["user", "change"], Success),
        "authenticationsucceeded" => c(AUTH, &["info"], Success),
        "smssent" => c(AUTH, &["info"], Success),
        "userlogin" => c(AUTH_SESSION, &["start"], Success),
        "createuser" => c(IAM, &["user", "creation"], Success),
        // Identity verification (verify).
        "sessionstarted" | "sessioncreated" | "verificationstarted" | "faceauthsessionstarted" => {
            c(AUTH, &["start"], Unknown)
        }
        "verificationcompleted" | "faceauthsessioncompleted" | "sdkprocesscompleted" => {
            c(AUTH, &["end"], Success)
        }
        "sessiondeleted" => c(AUTH, &["end"], Unknown),
        "consentapproved" => c(AUTH, &["info"], Success),
        "allowbyrestrictioncriterion" => c(AUTH, &["info"], Success),
        "denybyrestrictioncriterion" => c(AUTH, &["info"], Failure),
        "error" => c(AUTH, &["info"], Failure),
        "verificationstatusupdated"
        | "imageuploadedinfo"
        | "imagecaptureclicked"
        | "imageuploaded"
        | "pageloaded"
        | "readimagedata"
        | "useractionperformed"
        | "redirect"
        | "checkimagequality" => c(AUTH, &["info"], Unknown),
        // Fraud prevention (risk); the recommendation itself refines the type.
        "riskrecommendation" => c(DETECTION, &["info"], Success),
        // Admin events.
        "adminlogin" => c(AUTH_SESSION, &["start"], Success),
        "adminlogout" => c(AUTH_SESSION, &["end"], Success),
        "addadmin" => c(IAM, &["admin", "creation"], Success),
        "removeadmin" => c(IAM, &["admin", "deletion"], Success),
        "adminupdateuser" => c(IAM, &["user", "change"], Success),
        "deleteuser" => c(IAM, &["user", "deletion"], Success),
        "createapitoken" => c(IAM, &["creation"], Success),
        "deleteapitoken" => c(IAM, &["deletion"], Success),
        "admincreatetenant" | "createapp" | "createmgmtapp" => c(CONFIG, &["creation"], Success),
        "deleteapp" | "deletemgmtapp" => c(CONFIG, &["deletion"], Success),
        "adminupdatetenant"
        | "updateapp"
        | "updatemgmtapp"
        | "editauthsettings"
        | "editgeneralsettings"
        | "editpreviewpolicy"
        | "pushpolicytoproduction"
        | "enableappspecificsigningkey"
        | "disableappspecificsigningkey" => c(CONFIG, &["change"], Success),
        _ => return None,
    })
}

/// An activity the catalogue does not list (the vendor adds them): the type's broad category,
/// `info`, and an outcome only when the name says so.
fn guess(t: EventType, key: &str) -> Classification {
    let failed = ["fail", "error", "denied", "deny", "unsuccess", "reject"]
        .iter()
        .any(|w| key.contains(w));
    let succeeded = ["succeeded", "success", "completed"]
        .iter()
        .any(|w| key.contains(w));
    let outcome = match (failed, succeeded) {
        (true, _) => Failure,
        (false, true) => Success,
        _ => Unknown,
    };
    let category: &'static [&'static str] = match t {
        EventType::Admin => CONFIG,
        EventType::Risk => DETECTION,
        EventType::Cis | EventType::Verify => AUTH,
    };
    Classification {
        category,
        types: &["info"],
        outcome,
        known: false,
    }
}

/// `event.type` of a risk recommendation from its verdict (`ALLOW`, `CHALLENGE`, `DENY`).
pub fn recommendation_type(recommendation: &str) -> &'static str {
    match recommendation.to_ascii_uppercase().as_str() {
        "ALLOW" | "TRUST" => "allowed",
        "DENY" | "BLOCK" => "denied",
        _ => "info",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_spellings_of_an_activity_classify_alike() {
        let a = classify(EventType::Admin, "adminLogin");
        assert_eq!(a, classify(EventType::Admin, "admin_login"));
        assert_eq!(a, classify(EventType::Admin, "Admin login"));
        assert_eq!(a.category, ["authentication", "session"]);
        assert_eq!(a.types, ["start"]);
        assert!(a.known);
    }

    #[test]
    fn every_catalogue_family_is_covered() {
        let cases: &[(EventType, &str, &str, &str, Outcome)] = &[
            (
                EventType::Cis,
                "journey_completed_unsuccessfully",
                "authentication",
                "end",
                Failure,
            ),
            (
                EventType::Cis,
                "Create user failure",
                "iam",
                "creation",
                Failure,
            ),
            (EventType::Cis, "user_login", "session", "start", Success),
            (
                EventType::Verify,
                "deny_by_restriction_criterion",
                "authentication",
                "info",
                Failure,
            ),
            (
                EventType::Verify,
                "Face auth session completed",
                "authentication",
                "end",
                Success,
            ),
            (
                EventType::Risk,
                "risk_recommendation",
                "intrusion_detection",
                "info",
                Success,
            ),
            (EventType::Admin, "removeAdmin", "iam", "deletion", Success),
            (
                EventType::Admin,
                "pushPolicyToProduction",
                "configuration",
                "change",
                Success,
            ),
        ];
        for (t, activity, category, kind, outcome) in cases {
            let got = classify(*t, activity);
            assert!(got.known, "{activity}");
            assert!(got.category.contains(category), "{activity}: {got:?}");
            assert!(got.types.contains(kind), "{activity}: {got:?}");
            assert_eq!(got.outcome, *outcome, "{activity}");
        }
    }

    #[test]
    fn unknown_activities_get_the_types_category_and_an_outcome_from_their_name() {
        let got = classify(EventType::Cis, "passkey_registration_failed");
        assert!(!got.known);
        assert_eq!(got.category, ["authentication"]);
        assert_eq!(got.outcome, Failure);
        assert_eq!(classify(EventType::Admin, "rotateThing").outcome, Unknown);
    }
}
