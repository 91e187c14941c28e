//! `cochlea`: listen live, analyse files and folders, or run the demo.
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cochlea::exit::{self, Failure};
use cochlea::{batch, demo, live};

#[derive(Parser)]
#[command(
    name = "cochlea",
    version,
    about = "Cochlea: real-time music listening: onsets, pitch, notes and separated stems \
             (harmonic, percussive, residual, melody, accompaniment)",
    after_help = "Exit codes: 0 done, 1 internal error, 2 bad usage or impossible setting, \
                  3 unreadable or unsupported input (or capture device), 4 output not writable \
                  (or playback device), 130 analysis interrupted by Ctrl-C."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse audio files or folders: one output folder per input under -o, files in parallel.
    Analyze(batch::AnalyzeArgs),
    /// Listen to a capture device (or play a file through the real-time path) with a live
    /// display, monitoring and optional recording of the outputs.
    Live(live::LiveArgs),
    /// List audio hosts and devices with the channels and rates they take.
    Devices,
    /// Run the engine on a built-in synthesised input and write every output to a folder.
    Demo(demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            } as u8);
        }
    };
    let result: Result<(), Failure> = match cli.command {
        Command::Analyze(a) => batch::run(&a),
        Command::Live(l) => live::run(&l),
        Command::Devices => {
            print!("{}", live::device::listing());
            Ok(())
        }
        Command::Demo(d) => demo::run(&d),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK as u8),
        Err(f) => {
            eprintln!("cochlea: {}", f.message);
            ExitCode::from(f.code as u8)
        }
    }
}
