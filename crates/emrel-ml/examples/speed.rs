//! Times Burn training steps and scoring at the benchmark's shapes; `bench/run-speed` runs it
//! beside the PyTorch reference (`bench/speed_torch.py`) and prints the ratios.
//!
//! Usage: `speed [--model resgru-att] [--steps 10] [--device cpu|cuda|auto]`; prints one JSON line.

use emrel_ml::speed::{SpeedConfig, measure};
use emrel_ml::{DeviceChoice, select_device};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let get =
        |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let device =
        select_device(get("--device").as_deref().unwrap_or("cpu").parse::<DeviceChoice>()?)?;
    let cfg = SpeedConfig {
        arch: get("--model").as_deref().unwrap_or("resgru-att").parse()?,
        preset: "cpu".into(),
        batch_size: 64,
        length: 100,
        vocab_size: 2000,
        n_classes: 12,
        warmup_steps: 2,
        train_steps: get("--steps").map(|s| s.parse()).transpose()?.unwrap_or(10),
        score_pairs: get("--score-pairs").map(|s| s.parse()).transpose()?.unwrap_or(2048),
        score_batch: 256,
    };
    let r = measure(&device, &cfg)?;
    let step = r.median_step();
    println!(
        "{{\"framework\":\"burn\",\"device\":\"{}\",\"parameters\":{},\"step_ms\":{:.1},\"train_samples_per_s\":{:.1},\"score_samples_per_s\":{:.1}}}",
        device.name(),
        r.parameters,
        step * 1e3,
        cfg.batch_size as f64 / step,
        r.score_pairs_per_second
    );
    Ok(())
}
