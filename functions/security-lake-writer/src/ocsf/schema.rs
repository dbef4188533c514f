//! Each class's Arrow schema, derived from the compiled OCSF schema (`shared/ocsf/ocsf-1.1.0.json`) and the list of
//! attribute paths the mapping writes for that class. The types come from OCSF, never from this file: a path that
//! OCSF does not define for the class is a programming error, caught when the schema is built (and by the tests).
//!
//! OCSF types become Arrow types by their base type: `string_t` (and `ip_t`, `email_t`, `url_t`, ...) → Utf8,
//! `integer_t` → Int32, `long_t` and `timestamp_t` → Int64 (epoch milliseconds, as OCSF defines them),
//! `float_t` → Float64, `boolean_t` → Boolean, objects → Struct, arrays → List. `json_t`, and the generic
//! `object` that `unmapped` is, are written as JSON text (Utf8): their content has no fixed shape.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use serde_json::Value;

use super::Class;

/// The compiled schema, embedded: the writer needs no file at run time.
const COMPILED: &str = include_str!("../../../../shared/ocsf/ocsf-1.1.0.json");

/// The OCSF version the rows claim (`metadata.version`), read from the compiled schema.
pub fn version() -> &'static str {
    compiled()["version"]
        .as_str()
        .expect("the compiled schema names its version")
}

fn compiled() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(COMPILED).expect("the embedded OCSF schema is JSON"))
}

/// The Arrow schema of `class`, built once.
pub fn arrow(class: Class) -> SchemaRef {
    static SCHEMAS: OnceLock<BTreeMap<u32, SchemaRef>> = OnceLock::new();
    SCHEMAS
        .get_or_init(|| {
            Class::ALL
                .iter()
                .map(|c| {
                    (
                        c.uid(),
                        Arc::new(build(*c).unwrap_or_else(|e| panic!("{e}"))),
                    )
                })
                .collect()
        })
        .get(&class.uid())
        .expect("every class has a schema")
        .clone()
}

/// Builds `class`'s schema from its paths; an error names the first path OCSF does not define.
pub fn build(class: Class) -> Result<Schema, String> {
    from_paths(class.uid(), &class.paths())
}

fn from_paths(class_uid: u32, paths: &[&str]) -> Result<Schema, String> {
    let schema = compiled();
    let definition = &schema["classes"][class_uid.to_string()];
    if definition.is_null() {
        return Err(format!("class {class_uid} is not in the compiled schema"));
    }
    let mut tree = Tree::default();
    for path in paths {
        tree.insert(path);
    }
    let name = definition["name"].as_str().unwrap_or_default();
    let fields = fields(schema, &definition["attributes"], &tree, name)?;
    Ok(Schema::new(fields))
}

/// The attribute paths of a class as a tree: `src_endpoint.location.city` → src_endpoint → location → city.
#[derive(Default)]
struct Tree(BTreeMap<String, Tree>);

impl Tree {
    fn insert(&mut self, path: &str) {
        let mut node = self;
        for part in path.split('.') {
            node = node.0.entry(part.to_owned()).or_default();
        }
    }
}

fn fields(schema: &Value, attributes: &Value, tree: &Tree, at: &str) -> Result<Fields, String> {
    let mut out = Vec::with_capacity(tree.0.len());
    for (name, children) in &tree.0 {
        let attribute = &attributes[name];
        if attribute.is_null() {
            return Err(format!("OCSF defines no attribute {name} in {at}"));
        }
        let here = format!("{at}.{name}");
        let ty = attribute["type"].as_str().unwrap_or_default();
        let object_type = attribute["object_type"].as_str();
        let mut data_type = match (base(schema, ty), object_type) {
            ("object_t", Some("object")) | ("json_t", _) => {
                leaf(children, &here)?;
                DataType::Utf8
            }
            ("object_t", Some(object)) => {
                if children.0.is_empty() {
                    return Err(format!("{here} is an object: name the attributes to write"));
                }
                let definition = &schema["objects"][object]["attributes"];
                DataType::Struct(fields(schema, definition, children, &here)?)
            }
            (scalar, _) => {
                leaf(children, &here)?;
                scalar_type(scalar).ok_or_else(|| format!("{here} has type {ty}, unknown here"))?
            }
        };
        if attribute["is_array"].as_bool() == Some(true) {
            data_type = DataType::List(Arc::new(Field::new("item", data_type, true)));
        }
        out.push(Field::new(name, data_type, true));
    }
    Ok(Fields::from(out))
}

fn leaf(children: &Tree, at: &str) -> Result<(), String> {
    if children.0.is_empty() {
        Ok(())
    } else {
        Err(format!("{at} is not an object in OCSF"))
    }
}

fn base<'a>(schema: &'a Value, ty: &'a str) -> &'a str {
    schema["types"][ty].as_str().unwrap_or(ty)
}

fn scalar_type(base: &str) -> Option<DataType> {
    Some(match base {
        "string_t" => DataType::Utf8,
        "integer_t" => DataType::Int32,
        "long_t" => DataType::Int64,
        "float_t" => DataType::Float64,
        "boolean_t" => DataType::Boolean,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_schema_comes_from_ocsf_types() {
        for class in Class::ALL {
            let schema = build(*class).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                schema.field_with_name("time").unwrap().data_type(),
                &DataType::Int64
            );
            assert_eq!(
                schema.field_with_name("type_uid").unwrap().data_type(),
                &DataType::Int64
            );
            assert_eq!(
                schema.field_with_name("class_uid").unwrap().data_type(),
                &DataType::Int32
            );
            assert_eq!(
                schema.field_with_name("unmapped").unwrap().data_type(),
                &DataType::Utf8
            );
        }
        let finding = build(Class::DetectionFinding).unwrap();
        let DataType::Struct(info) = finding.field_with_name("finding_info").unwrap().data_type()
        else {
            panic!("finding_info is an object");
        };
        let types = info.iter().find(|f| f.name() == "types").unwrap();
        assert!(
            matches!(types.data_type(), DataType::List(_)),
            "finding_info.types is an array in OCSF"
        );
        assert_eq!(version(), "1.1.0");
    }

    #[test]
    fn a_path_ocsf_does_not_define_is_refused() {
        assert!(from_paths(3002, &["time", "user.uid"]).is_ok());
        let unknown = from_paths(3002, &["user.favourite_colour"]).unwrap_err();
        assert!(unknown.contains("favourite_colour"), "{unknown}");
        assert!(
            from_paths(3002, &["time.seconds"]).is_err(),
            "a scalar has no attributes"
        );
        assert!(
            from_paths(3002, &["user"]).is_err(),
            "an object needs its attributes named"
        );
        assert!(
            from_paths(3002, &["finding_info.uid"]).is_err(),
            "findings are not an Authentication attribute"
        );
        assert!(from_paths(9999, &["time"]).is_err());
    }
}
