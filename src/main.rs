use clap::Parser;

#[actix_web::main]
async fn main() {
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,actix_server=warn"),
    )
    .init();
    let cli = mhtr_pathway::cli::Cli::parse();
    if let Err(e) = mhtr_pathway::cli::run(cli).await {
        eprintln!("error: {e}");
        if let mhtr_pathway::error::AppError::Config(_) = e {
            std::process::exit(2);
        }
        std::process::exit(1);
    }
}
