//! The allocator of every Tributary binary: mimalloc, which serves the many small, short-lived allocations of
//! parsing, mapping and serializing events faster than the system allocator (the drain bench: about 15% less
//! CPU per event).
//!
//! Deployed with `MIMALLOC_ARENA_EAGER_COMMIT=0` (the template sets it): with mimalloc's eager commit a drain's
//! peak RSS doubled (about 59 MiB against 33 MiB) for no speed the bench could measure. mimalloc reads its
//! options when the process starts, before `main`, so the setting must come from the environment.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The environment the deployed functions give mimalloc (`infra/template.yaml`, `Globals`).
pub const DEPLOYED_ENV: &[(&str, &str)] = &[("MIMALLOC_ARENA_EAGER_COMMIT", "0")];
