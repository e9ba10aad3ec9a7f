use clap::Parser;

/// Page rendering allocates and frees many small values; mimalloc's thread-local free lists
/// serve them at a fraction of glibc's cost (BENCHMARKS.md, load test, seventh run). Password
/// hashing's 19 MiB buffers are mimalloc "huge" blocks, mapped for each hash and unmapped on
/// free, so they are given back to the system as before.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keeps the allocator's resident memory near what the program uses: memory is committed
/// as it is needed rather than an arena at a time, and freed memory is given back at once
/// rather than after 10 ms. Under the load test this holds the service at about 60 MiB,
/// where mimalloc's defaults took it past 90 (BENCHMARKS.md, load test, seventh run).
fn tune_allocator() {
    // The option numbers of mimalloc 3's `mi_option_e` (include/mimalloc.h), which the raw
    // bindings do not name: `mi_option_arena_eager_commit` and `mi_option_purge_delay`.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an option only stores its value; both are read as memory is reserved
    // or purged, and any value is valid for them.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}

#[actix_web::main]
async fn main() {
    tune_allocator();
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,actix_server=warn"),
    )
    .init();
    mhtr_pathway::db::configure_sqlite_library();
    let cli = mhtr_pathway::cli::Cli::parse();
    if let Err(e) = mhtr_pathway::cli::run(cli).await {
        eprintln!("error: {e}");
        if let mhtr_pathway::error::AppError::Config(_) = e {
            std::process::exit(2);
        }
        std::process::exit(1);
    }
}
