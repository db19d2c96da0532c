//! Rebuilds the crate when a migration file changes, because `sqlx::migrate!`
//! embeds the migrations at compile time and cargo does not watch them.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
