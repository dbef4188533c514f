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
    /// `TRIBUTARY_SECURITY_LAKE_SOURCES`: each class's custom-source location in the lake bucket, as
    /// `class=location` pairs overriding the default `ext/tributary-<class>` (class by OCSF name or uid).
    pub sources: BTreeMap<Class, String>,
    /// `TRIBUTARY_SECURITY_LAKE_ROLE_ARN`: a role to assume for writing (Security Lake's custom-source role in
    /// the lake's account); unset, the function's own role writes.
    pub role_arn: Option<String>,
    /// `TRIBUTARY_SECURITY_LAKE_EXTERNAL_ID`: the external id that role's trust policy requires.
    pub external_id: Option<String>,
    /// `TRIBUTARY_SECURITY_LAKE_ROW_GROUP_ROWS`: rows per Parquet row group (default 100000).
    pub row_group_rows: usize,
    /// `TRIBUTARY_SAFETY_MARGIN_SECONDS`: stop taking new hours this long before the deadline (default 30).
    pub safety_margin: Duration,
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
        let overrides = reader.list(
            "TRIBUTARY_SECURITY_LAKE_SOURCES",
            &[],
            "class=location pairs overriding a class's custom-source location (default ext/tributary-<class>)",
        );
        let mut sources: BTreeMap<Class, String> = Class::ALL
            .iter()
            .map(|c| (*c, default_location(*c)))
            .collect();
        for pair in overrides {
            let parsed = pair.split_once('=').and_then(|(class, location)| {
                let class = class.trim();
                let location = location.trim().trim_matches('/');
                let class = Class::ALL
                    .iter()
                    .find(|c| c.name() == class || c.uid().to_string() == class)?;
                (!location.is_empty()).then(|| (*class, location.to_owned()))
            });
            match parsed {
                Some((class, location)) => {
                    sources.insert(class, location);
                }
                None => reader.invalid(
                    "TRIBUTARY_SECURITY_LAKE_SOURCES",
                    &pair,
                    "class=location, class one of the OCSF class names or uids the writer writes",
                ),
            }
        }
        let role_arn = reader.optional(
            "TRIBUTARY_SECURITY_LAKE_ROLE_ARN",
            "the function's own role writes",
            "a role to assume for writing to the lake bucket (cross-account)",
        );
        let external_id = reader.optional(
            "TRIBUTARY_SECURITY_LAKE_EXTERNAL_ID",
            "no external id",
            "the external id the role's trust policy requires",
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
            role_arn,
            external_id,
            row_group_rows,
            safety_margin,
        }
    }
}

/// `ext/tributary-<class name with dashes>`.
pub fn default_location(class: Class) -> String {
    format!("ext/tributary-{}", class.name().replace('_', "-"))
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
    fn every_class_has_a_location_and_overrides_name_classes_by_name_or_uid() {
        let mut vars = BASE.to_vec();
        vars.push((
            "TRIBUTARY_SECURITY_LAKE_SOURCES",
            "authentication=ext/idp-auth/1.0/, 2004=ext/findings",
        ));
        let config = read(&vars).unwrap();
        assert_eq!(config.sources[&Class::Authentication], "ext/idp-auth/1.0");
        assert_eq!(config.sources[&Class::DetectionFinding], "ext/findings");
        assert_eq!(
            config.sources[&Class::ApiActivity],
            "ext/tributary-api-activity"
        );
        assert_eq!(config.sources.len(), Class::ALL.len());
    }

    #[test]
    fn a_bad_account_or_source_is_refused_with_every_problem() {
        let mut vars = BASE.to_vec();
        vars[2] = ("TRIBUTARY_SECURITY_LAKE_ACCOUNT_ID", "12345");
        vars.push((
            "TRIBUTARY_SECURITY_LAKE_SOURCES",
            "nonsense=ext/x,authentication=",
        ));
        let problems = read(&vars).unwrap_err().problems().len();
        assert_eq!(problems, 3);
    }
}
