//! Criterion: lookups on the full Internet table, Savin's Poptrie against `prefix-trie`.
//! (`savin bench fib` prints the whole-table figures as JSON.)

use std::io::Read;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use savin_fib::Fib;

fn load_v4() -> Vec<(u32, u8)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/full-table/prefixes.txt.gz"
    );
    let mut text = String::new();
    let f = std::fs::File::open(path).expect("../shared/data/full-table/prefixes.txt.gz");
    flate2::read::GzDecoder::new(f)
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .filter_map(|l| l.parse::<ipnet::Ipv4Net>().ok())
        .map(|n| (u32::from(n.network()), n.prefix_len()))
        .collect()
}

fn bench(c: &mut Criterion) {
    let prefixes = load_v4();
    let fib = Fib::from_routes(
        prefixes
            .iter()
            .enumerate()
            .map(|(i, (a, l))| (*a, *l, 1 + (i as u32 % 4000))),
    )
    .expect("next hops in range");
    let mut peer = prefix_trie::PrefixMap::<ipnet::Ipv4Net, u32>::new();
    for (i, (a, l)) in prefixes.iter().enumerate() {
        peer.insert(
            ipnet::Ipv4Net::new((*a).into(), *l).unwrap(),
            1 + (i as u32 % 4000),
        );
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let keys: Vec<u32> = (0..1 << 16)
        .map(|_| {
            let (a, l) = prefixes[rng.gen_range(0..prefixes.len())];
            a | (rng.gen::<u32>()
                & if l == 0 {
                    u32::MAX
                } else {
                    u32::MAX >> l.min(31)
                })
        })
        .collect();
    let mut g = c.benchmark_group("lpm_v4_full_table");
    g.throughput(Throughput::Elements(keys.len() as u64));
    let reader = fib.reader();
    g.bench_function("savin_poptrie", |b| {
        b.iter(|| {
            let t = reader.load();
            keys.iter()
                .fold(0u32, |acc, k| acc.wrapping_add(t.lookup(*k)))
        })
    });
    g.bench_function("prefix_trie", |b| {
        b.iter(|| {
            keys.iter().fold(0u32, |acc, k| {
                let net = ipnet::Ipv4Net::new((*k).into(), 32).unwrap();
                acc.wrapping_add(peer.get_lpm(&net).map_or(0, |(_, v)| *v))
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
