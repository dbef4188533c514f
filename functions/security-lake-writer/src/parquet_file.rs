//! Rows of one class → one Parquet file: ZSTD-compressed, rows in the order given (by `time`), the `time` column
//! declared as the sort key, row groups of a bounded number of rows. The same rows always give the same bytes
//! (no clock or random value goes into the file), so rewriting an hour from the same inputs changes nothing.

use std::sync::Arc;

use arrow_json::ReaderBuilder;
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::WriterProperties;

use crate::ocsf::{schema, Class, Row};

/// At most this much encoded data per row group, the block size Hive-style readers such as Athena split on.
const ROW_GROUP_BYTES: usize = 128 << 20;

/// Rows turned into Arrow columns at a time.
const DECODE_ROWS: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    #[error("a {class} row does not fit the class's schema: {source}")]
    Row {
        class: &'static str,
        source: arrow_schema::ArrowError,
    },
    #[error("writing Parquet: {0}")]
    Write(#[from] parquet::errors::ParquetError),
}

/// Whether one row fits `class`'s schema, and why not.
pub fn fits(class: Class, row: &Row) -> Result<(), String> {
    let mut decoder = ReaderBuilder::new(schema::arrow(class))
        .with_strict_mode(true)
        .build_decoder()
        .map_err(|e| e.to_string())?;
    decoder.decode(&row.json).map_err(|e| e.to_string())?;
    decoder.flush().map(|_| ()).map_err(|e| e.to_string())
}

/// The file of `rows`, all of `class`, in their order.
pub fn write(class: Class, rows: &[&Row], row_group_rows: usize) -> Result<Vec<u8>, ParquetError> {
    let schema = schema::arrow(class);
    let row_error = |source| ParquetError::Row {
        class: class.caption(),
        source,
    };
    let descriptor = ArrowSchemaConverter::new().convert(&schema)?;
    let time_column = descriptor
        .columns()
        .iter()
        .position(|c| c.path().string() == "time")
        .expect("every class has a time column") as i32;
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: time_column,
            descending: false,
            nulls_first: false,
        }]))
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), Arc::clone(&schema), Some(properties))?;
    let mut decoder = ReaderBuilder::new(Arc::clone(&schema))
        .with_batch_size(DECODE_ROWS)
        .with_strict_mode(true)
        .build_decoder()
        .map_err(row_error)?;
    let mut text = Vec::new();
    for chunk in rows.chunks(DECODE_ROWS) {
        text.clear();
        for row in chunk {
            text.extend_from_slice(&row.json);
            text.push(b'\n');
        }
        let mut rest = &text[..];
        while !rest.is_empty() {
            let used = decoder.decode(rest).map_err(row_error)?;
            rest = &rest[used..];
            if let Some(batch) = decoder.flush().map_err(row_error)? {
                writer.write(&batch)?;
            }
        }
    }
    if let Some(batch) = decoder.flush().map_err(row_error)? {
        writer.write(&batch)?;
    }
    Ok(writer.into_inner()?)
}
