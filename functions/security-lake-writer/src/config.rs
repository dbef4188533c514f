//! `TRIBUTARY_SECURITY_LAKE_*` settings, beside the common `TRIBUTARY_BUCKET` and `TRIBUTARY_PREFIX` of the landing
//! the writer reads (the common ones named by their full path, so tools tracing which settings a function reads can
//! follow them).

use std::collections::BTreeMap;
use std::time::Duration;

use tributary_shared::config::{self, ConfigError, Reader, Setting};

use crate::ocsf::Class;

#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// `TRIBUTARY_BUCKET`: the landing bucket whose notifications the writer takes.
    pub landing_bucket: String,
    /// `TRIBUTARY_PREFIX`: the landing's key prefix (default `tributary`).
    pub prefix: String,
    /// `TRIBUTARY_SECURITY_LAKE_BUCKET`: Security Lake's bucket (`aws-security-data-lake-<region>-<id>`).
    pub lake_bucket: String,
    /// `TRIBUTARY_SECURITY_LAKE_REGION`: the `region=` partition (default the function's region).
    pub region: String,
    /// `TRIBUTARY_SECURITY_LAKE_ACCOUNT_ID`: the `accountId=` partition: the account the events belong to.
    pub account_id: String,
    /// Each class's custom source: its location (`TRIBUTARY_SECURITY_LAKE_SOURCES`) and the role that writes it
    /// (`TRIBUTARY_SECURITY_LAKE_ROLE_ARN`).
    pub sources: BTreeMap<Class, Source>,
    /// `TRIBUTARY_SECURITY_LAKE_EXTERNAL_ID`: the external id the roles' trust policies require.
    pub external_id: Option<String>,
    /// `TRIBUTARY_SECURITY_LAKE_ROW_GROUP_ROWS`: rows per Parquet row group (default 100000).
    pub row_group_rows: usize,
    /// `TRIBUTARY_SAFETY_MARGIN_SECONDS`: stop this long before the deadline (default 30).
    pub safety_margin: Duration,
}

impl WriterConfig {
    /// A writer of `lake_bucket` for the landing in `landing_bucket` under `prefix`, with every other setting at
    /// its default: the default sources, written with the function's own role.
    pub fn new(
        landing_bucket: impl Into<String>,
        prefix: impl Into<String>,
        lake_bucket: impl Into<String>,
        region: impl Into<String>,
        account_id: impl Into<String>,
    ) -> WriterConfig {
        WriterConfig {
            landing_bucket: landing_bucket.into(),
            prefix: prefix.into(),
            lake_bucket: lake_bucket.into(),
            region: region.into(),
            account_id: account_id.into(),
            sources: default_sources(),
            external_id: None,
            row_group_rows: 100_000,
            safety_margin: Duration::from_secs(30),
        }
    }
}

/// One class's custom source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Its location in the lake bucket, under `ext/`.
    pub location: String,
    /// The role that writes it (Security Lake provisions one per custom source); `None`: the function's own.
    pub role_arn: Option<String>,
}

impl WriterConfig {
    pub fn read(reader: &mut Reader) -> Self {
        let landing_bucket = tributary_shared::config::common::bucket(reader);
        let prefix = tributary_shared::config::common::prefix(reader);
        let lake_bucket =
            reader.required("TRIBUTARY_SECURITY_LAKE_BUCKET", "Security Lake's bucket");
        let region = reader
            .optional(
                "TRIBUTARY_SECURITY_LAKE_REGION",
                "the function's region (AWS_REGION)",
                "the region= partition of the files",
            )
            .or_else(|| config::optional("AWS_REGION"))
            .unwrap_or_else(|| {
                reader.missing(
                    "TRIBUTARY_SECURITY_LAKE_REGION",
                    "the region= partition (AWS_REGION is unset too)",
                );
                String::new()
            });
        let account_id = reader.required(
            "TRIBUTARY_SECURITY_LAKE_ACCOUNT_ID",
            "the accountId= partition: the account the events belong to",
        );
        if !account_id.is_empty()
            && (account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()))
        {
            reader.invalid(
                "TRIBUTARY_SECURITY_LAKE_ACCOUNT_ID",
                &account_id,
                "a 12-digit account id",
            );
        }
        let sources = read_sources(reader);
        let external_id = reader.optional(
            "TRIBUTARY_SECURITY_LAKE_EXTERNAL_ID",
            "no external id",
            "the external id the roles' trust policies require",
        );
        let row_group_rows = reader.whole(
            "TRIBUTARY_SECURITY_LAKE_ROW_GROUP_ROWS",
            100_000,
            1_000..=10_000_000,
            "rows",
            "rows per Parquet row group",
        ) as usize;
        let safety_margin = tributary_shared::config::common::safety_margin(reader, 30);
        WriterConfig {
            landing_bucket,
            prefix,
            lake_bucket,
            region,
            account_id,
            sources,
            external_id,
            row_group_rows,
            safety_margin,
        }
    }
}

fn read_sources(reader: &mut Reader) -> BTreeMap<Class, Source> {
    let locations = reader.list(
        "TRIBUTARY_SECURITY_LAKE_SOURCES",
        &[],
        "class=location pairs overriding a class's custom-source location (default ext/tributary-<short name>)",
    );
    let roles = reader.list(
        "TRIBUTARY_SECURITY_LAKE_ROLE_ARN",
        &[],
        "the role that writes: one ARN for every class and/or class=ARN pairs (Security Lake provisions one role \
         per custom source); unset, the function's own role writes",
    );
    let mut sources = default_sources();
    for pair in locations {
        match class_pair(&pair) {
            Some((class, location)) if location.starts_with("ext/") && location.len() > 4 => {
                sources.get_mut(&class).expect("every class").location = location;
            }
            _ => reader.invalid(
                "TRIBUTARY_SECURITY_LAKE_SOURCES",
                &pair,
                "class=ext/<location>, class one of the OCSF class names or uids the writer writes",
            ),
        }
    }
    // Pairs first, so a bare ARN is the role of every class no pair names, wherever it stands in the list.
    let (bare, pairs): (Vec<String>, Vec<String>) =
        roles.into_iter().partition(|r| r.starts_with("arn:"));
    for item in pairs {
        match class_pair(&item) {
            Some((class, role)) if role.starts_with("arn:") => {
                sources.get_mut(&class).expect("every class").role_arn = Some(role);
            }
            _ => reader.invalid(
                "TRIBUTARY_SECURITY_LAKE_ROLE_ARN",
                &item,
                "a role ARN, or class=ARN",
            ),
        }
    }
    if bare.len() > 1 {
        reader.invalid(
            "TRIBUTARY_SECURITY_LAKE_ROLE_ARN",
            &bare.join(","),
            "at most one role for every class; name the others class=ARN",
        );
    }
    if let Some(role) = bare.first() {
        for source in sources.values_mut().filter(|s| s.role_arn.is_none()) {
            source.role_arn = Some(role.clone());
        }
    }
    let mut seen: BTreeMap<String, Class> = BTreeMap::new();
    for (class, source) in &sources {
        if let Some(other) = seen.insert(source.location.clone(), *class) {
            let both = format!(
                "{} and {} at {}",
                other.name(),
                class.name(),
                source.location
            );
            reader.invalid(
                "TRIBUTARY_SECURITY_LAKE_SOURCES",
                &both,
                "a location of its own for every class (two classes in one location overwrite each other)",
            );
        }
    }
    sources
}

/// `ext/<class's default source name>`.
pub fn default_location(class: Class) -> String {
    format!("ext/{}", class.source_name())
}

/// The sources of a lake written with the function's own role, at the default locations.
pub fn default_sources() -> BTreeMap<Class, Source> {
    Class::ALL
        .iter()
        .map(|c| {
            let source = Source {
                location: default_location(*c),
                role_arn: None,
            };
            (*c, source)
        })
        .collect()
}

/// `class=value`, class by OCSF name or uid.
fn class_pair(pair: &str) -> Option<(Class, String)> {
    let (class, value) = pair.split_once('=')?;
    let class = class.trim();
    let value = value.trim().trim_end_matches('/');
    let class = Class::ALL
        .iter()
        .find(|c| c.name() == class || c.uid().to_string() == class)?;
    (!value.is_empty()).then(|| (*class, value.to_owned()))
}

pub fn load() -> Result<WriterConfig, ConfigError> {
    let mut reader = Reader::from_env();
    let config = WriterConfig::read(&mut reader);
    reader.finish(config)
}

/// Every setting the writer reads, with its default (for `--help`).
pub fn settings() -> Vec<Setting> {
    let mut reader = Reader::from_vars([]);
    WriterConfig::read(&mut reader);
    let mut settings = reader.into_settings();
    settings.extend(config::runtime_settings());
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<WriterConfig, ConfigError> {
        let mut reader = Reader::from_vars(vars.iter().copied());
        let config = WriterConfig::read(&mut reader);
        reader.finish(config)
    }

    const BASE: &[(&str, &str)] = &[
        ("TRIBUTARY_BUCKET", "landing"),
        (
            "TRIBUTARY_SECURITY_LAKE_BUCKET",
            "aws-security-data-lake-us-east-1-abc",
        ),
        ("TRIBUTARY_SECURITY_LAKE_ACCOUNT_ID", "123456789012"),
        ("TRIBUTARY_SECURITY_LAKE_REGION", "us-east-1"),
    ];

    #[test]
    fn every_class_has_a_source_and_settings_name_classes_by_name_or_uid() {
        let mut vars = BASE.to_vec();
        vars.push((
            "TRIBUTARY_SECURITY_LAKE_SOURCES",
            "authentication=ext/idp-auth/1.0/, 2004=ext/findings",
        ));
        vars.push((
            "TRIBUTARY_SECURITY_LAKE_ROLE_ARN",
            "arn:aws:iam::111122223333:role/all,authentication=arn:aws:iam::111122223333:role/auth",
        ));
        let config = read(&vars).unwrap();
        let source = |c: Class| config.sources[&c].clone();
        assert_eq!(source(Class::Authentication).location, "ext/idp-auth/1.0");
        assert_eq!(source(Class::DetectionFinding).location, "ext/findings");
        assert_eq!(source(Class::ApiActivity).location, "ext/tributary-api");
        let role = |c: Class| source(c).role_arn.unwrap();
        assert_eq!(
            role(Class::Authentication),
            "arn:aws:iam::111122223333:role/auth"
        );
        assert_eq!(
            role(Class::ApiActivity),
            "arn:aws:iam::111122223333:role/all"
        );
        assert_eq!(config.sources.len(), Class::ALL.len());
        assert_eq!(config.sources, {
            let mut defaults = default_sources();
            for (class, s) in &config.sources {
                defaults.insert(*class, s.clone());
            }
            defaults
        });
        // Security Lake names custom sources with at most 20 characters.
        assert!(Class::ALL.iter().all(|c| c.source_name().len() <= 20));
    }

    #[test]
    fn bad_settings_are_refused_with_every_problem() {
        let mut vars = BASE.to_vec();
        vars[2] = ("TRIBUTARY_SECURITY_LAKE_ACCOUNT_ID", "12345");
        vars.push((
            "TRIBUTARY_SECURITY_LAKE_SOURCES",
            "nonsense=ext/x,authentication=,3001=data/x",
        ));
        vars.push((
            "TRIBUTARY_SECURITY_LAKE_ROLE_ARN",
            "authentication=role-name",
        ));
        assert_eq!(read(&vars).unwrap_err().problems().len(), 5);
        let mut shared = BASE.to_vec();
        shared.push((
            "TRIBUTARY_SECURITY_LAKE_SOURCES",
            "authentication=ext/one,account_change=ext/one",
        ));
        let problems = read(&shared).unwrap_err().problems().len();
        assert_eq!(problems, 1, "two classes may not share a location");
    }
}
