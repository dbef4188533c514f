//! The four event types Mosaic streams separately; one invocation collects one of them.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Authentication, user management and journey events.
    Cis,
    /// Admin portal and configuration changes.
    Admin,
    /// Fraud prevention (detection and response) events.
    Risk,
    /// Identity verification events.
    Verify,
}

impl EventType {
    pub const ALL: [EventType; 4] = [
        EventType::Cis,
        EventType::Admin,
        EventType::Risk,
        EventType::Verify,
    ];

    /// The names as the vendor's `type` parameter takes them.
    pub const NAMES: [&'static str; 4] = ["cis", "admin", "risk", "verify"];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Cis => "cis",
            EventType::Admin => "admin",
            EventType::Risk => "risk",
            EventType::Verify => "verify",
        }
    }

    /// Case-insensitive.
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// The state item of this type's stream.
    pub fn state_key(self) -> String {
        format!("transmit#{}", self.as_str())
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
