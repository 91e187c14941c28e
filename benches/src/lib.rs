//! Cochlea's measurement tools: `score` (accuracy over the dev corpus, side by side with the
//! peers), `compare` (speed next to accuracy), `blocktimes` (the worst-case block report), and
//! the criterion benches.
#![deny(missing_docs)]

pub mod melody;
pub mod peers;
pub mod pitch;
pub mod stems;

/// Runs `f` over `items` on all cores, keeping the order; failures are printed (under the item's
/// `name`) and skipped.
pub fn parallel<I: Sync, T: Send, F>(items: &[I], name: fn(&I) -> &str, f: F) -> Vec<(String, T)>
where
    F: Fn(&I) -> Result<T, String> + Sync,
{
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| {
                let f = &f;
                s.spawn(move || {
                    c.iter()
                        .map(|it| (name(it).to_string(), f(it)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("scoring thread"))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .filter_map(|(name, r)| match r {
        Ok(v) => Some((name, v)),
        Err(e) => {
            eprintln!("error: {name}: {e}");
            None
        }
    })
    .collect()
}
