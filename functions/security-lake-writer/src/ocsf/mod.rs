//! OCSF 1.1.0 for Amazon Security Lake: which class a landed record belongs to, the row it becomes, and each
//! class's Parquet schema.

pub mod classify;
pub mod map;
pub mod schema;
pub mod values;

/// The OCSF classes the writer produces. Each is one Security Lake custom source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Base Event [0]: the documented fallback for a record no class fits, and for `_unparsed` records.
    Base,
    DetectionFinding,
    AccountChange,
    Authentication,
    EntityManagement,
    DeviceInventoryInfo,
    WebResourcesActivity,
    ApiActivity,
}

/// Attributes every class writes (Base Event's own).
const COMMON: &[&str] = &[
    "activity_id",
    "activity_name",
    "category_uid",
    "category_name",
    "class_uid",
    "class_name",
    "type_uid",
    "type_name",
    "severity_id",
    "severity",
    "status_id",
    "status",
    "status_detail",
    "message",
    "time",
    "start_time",
    "end_time",
    "metadata.version",
    "metadata.uid",
    "metadata.event_code",
    "metadata.log_name",
    "metadata.log_provider",
    "metadata.original_time",
    "metadata.labels",
    "metadata.tenant_uid",
    "metadata.correlation_uid",
    "metadata.product.name",
    "metadata.product.vendor_name",
    "metadata.product.feature.name",
    "raw_data",
    "unmapped",
];

const USER: &[&str] = &[
    "user.uid",
    "user.name",
    "user.email_addr",
    "user.type",
    "user.type_id",
];
const ACTOR: &[&str] = &[
    "actor.user.uid",
    "actor.user.name",
    "actor.user.email_addr",
    "actor.user.type",
    "actor.user.type_id",
];
const SOURCE: &[&str] = &[
    "src_endpoint.ip",
    "src_endpoint.name",
    "src_endpoint.location.city",
    "src_endpoint.location.country",
    "src_endpoint.location.region",
    "http_request.user_agent",
];
const DEVICE: &[&str] = &[
    "device.uid",
    "device.type_id",
    "device.type",
    "device.hostname",
    "device.name",
    "device.os.name",
    "device.os.type_id",
    "device.os.type",
    "device.os.version",
];

impl Class {
    pub const ALL: &'static [Class] = &[
        Class::Base,
        Class::DetectionFinding,
        Class::AccountChange,
        Class::Authentication,
        Class::EntityManagement,
        Class::DeviceInventoryInfo,
        Class::WebResourcesActivity,
        Class::ApiActivity,
    ];

    pub fn uid(self) -> u32 {
        match self {
            Class::Base => 0,
            Class::DetectionFinding => 2004,
            Class::AccountChange => 3001,
            Class::Authentication => 3002,
            Class::EntityManagement => 3004,
            Class::DeviceInventoryInfo => 5001,
            Class::WebResourcesActivity => 6001,
            Class::ApiActivity => 6003,
        }
    }

    /// The default custom-source name (Security Lake allows at most 20 characters).
    pub fn source_name(self) -> &'static str {
        match self {
            Class::Base => "tributary-base",
            Class::DetectionFinding => "tributary-finding",
            Class::AccountChange => "tributary-account",
            Class::Authentication => "tributary-auth",
            Class::EntityManagement => "tributary-entity",
            Class::DeviceInventoryInfo => "tributary-device",
            Class::WebResourcesActivity => "tributary-web",
            Class::ApiActivity => "tributary-api",
        }
    }

    /// OCSF's name of the class.
    pub fn name(self) -> &'static str {
        match self {
            Class::Base => "base_event",
            Class::DetectionFinding => "detection_finding",
            Class::AccountChange => "account_change",
            Class::Authentication => "authentication",
            Class::EntityManagement => "entity_management",
            Class::DeviceInventoryInfo => "inventory_info",
            Class::WebResourcesActivity => "web_resources_activity",
            Class::ApiActivity => "api_activity",
        }
    }

    pub fn caption(self) -> &'static str {
        match self {
            Class::Base => "Base Event",
            Class::DetectionFinding => "Detection Finding",
            Class::AccountChange => "Account Change",
            Class::Authentication => "Authentication",
            Class::EntityManagement => "Entity Management",
            Class::DeviceInventoryInfo => "Device Inventory Info",
            Class::WebResourcesActivity => "Web Resources Activity",
            Class::ApiActivity => "API Activity",
        }
    }

    pub fn category(self) -> (u32, &'static str) {
        match self {
            Class::Base => (0, "Uncategorized"),
            Class::DetectionFinding => (2, "Findings"),
            Class::AccountChange | Class::Authentication | Class::EntityManagement => {
                (3, "Identity & Access Management")
            }
            Class::DeviceInventoryInfo => (5, "Discovery"),
            Class::WebResourcesActivity | Class::ApiActivity => (6, "Application Activity"),
        }
    }

    /// The caption of an activity id in this class (OCSF's `activity_id` enum).
    pub fn activity_name(self, id: u32) -> &'static str {
        let named: &[(u32, &str)] = match self {
            Class::Base => &[],
            Class::DetectionFinding => &[(1, "Create"), (2, "Update"), (3, "Close")],
            Class::AccountChange => &[
                (1, "Create"),
                (2, "Enable"),
                (3, "Password Change"),
                (4, "Password Reset"),
                (5, "Disable"),
                (6, "Delete"),
                (9, "Lock"),
                (10, "MFA Factor Enable"),
                (11, "MFA Factor Disable"),
            ],
            Class::Authentication => &[(1, "Logon"), (2, "Logoff")],
            Class::EntityManagement | Class::ApiActivity => {
                &[(1, "Create"), (2, "Read"), (3, "Update"), (4, "Delete")]
            }
            Class::DeviceInventoryInfo => &[(1, "Log"), (2, "Collect")],
            Class::WebResourcesActivity => &[
                (1, "Create"),
                (2, "Read"),
                (3, "Update"),
                (4, "Delete"),
                (8, "Share"),
            ],
        };
        match id {
            0 => "Unknown",
            99 => "Other",
            _ => named
                .iter()
                .find(|(uid, _)| *uid == id)
                .map(|(_, name)| *name)
                .unwrap_or("Other"),
        }
    }

    /// Every attribute path the mapping may write for this class; the Parquet schema is built from these.
    pub fn paths(self) -> Vec<&'static str> {
        let own: &[&[&str]] = match self {
            Class::Base => &[],
            Class::DetectionFinding => &[
                &[
                    "finding_info.uid",
                    "finding_info.title",
                    "finding_info.desc",
                    "finding_info.types",
                    "finding_info.created_time",
                    "finding_info.src_url",
                    "risk_score",
                ],
                ACTOR,
                DEVICE,
            ],
            Class::AccountChange => &[USER, ACTOR, SOURCE],
            Class::Authentication => &[
                USER,
                SOURCE,
                &["is_mfa", "session.uid", "service.name", "service.uid"],
            ],
            Class::EntityManagement => &[
                &["entity.uid", "entity.name", "entity.type", "entity.data"],
                ACTOR,
            ],
            Class::DeviceInventoryInfo => &[DEVICE],
            Class::WebResourcesActivity => &[
                &[
                    "web_resources.url_string",
                    "web_resources.name",
                    "web_resources.type",
                    "web_resources.uid",
                    "http_request.url.url_string",
                    "http_request.url.hostname",
                ],
                SOURCE,
            ],
            Class::ApiActivity => &[
                &[
                    "api.operation",
                    "resources.uid",
                    "resources.type",
                    "resources.name",
                ],
                ACTOR,
                SOURCE,
            ],
        };
        COMMON
            .iter()
            .chain(own.iter().flat_map(|paths| paths.iter()))
            .copied()
            .collect()
    }
}

/// One record as a row of its class, with what the file's order and de-duplication need.
#[derive(Debug, Clone)]
pub struct Row {
    pub class: Class,
    /// `time`, epoch milliseconds.
    pub time: i64,
    /// `metadata.uid`: the record's `event.id`.
    pub uid: String,
    /// The row as one line of JSON, in the class's schema.
    pub json: Vec<u8>,
    /// Why the record went to the fallback class, if it did.
    pub fallback: Option<Fallback>,
}

/// Why a record is written as a Base Event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// A line of a landed object that is not a JSON object with `event.id` and `@timestamp`.
    Unreadable,
    /// A record the collectors kept under `_unparsed` (the vendor's raw text and the error).
    Unparsed,
    /// A readable record that no class fits.
    Unmapped,
    /// A row its class's schema refused (a value of the wrong kind the mapping did not catch).
    Misfit,
}
