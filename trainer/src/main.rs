//! `cargo run -p trainer --release -- [OPTIONS]`: fine-tunes an SSL encoder for pronunciation scoring
//! with the seed's recipe (General, Freeze or CTC) on Speechocean762 (the options: trainer/src/cli.rs).

fn main() -> std::process::ExitCode {
    trainer::cli::main(std::env::args_os().collect())
}
