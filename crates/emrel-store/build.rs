fn main() {
    // Migrations are embedded with `sqlx::migrate!`; rebuild when one is added.
    println!("cargo:rerun-if-changed=../../migrations");
}
