use clap::Parser;

/// Password hashing allocates 19 MiB per hash. With glibc's default dynamic threshold those
/// buffers end up in per-thread heaps that are never given back; a fixed threshold keeps them
/// as mappings returned to the system on free, and a few arenas keep the heap compact.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator parameters; called before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}

#[actix_web::main]
async fn main() {
    tune_allocator();
    if let Err(e) = mhtr_pathway::logging::init() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
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
