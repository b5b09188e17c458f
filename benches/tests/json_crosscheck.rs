//! Before measuring JSON: protocall's and pbjson's ProtoJSON agree on every
//! dataset (see `protocall_benches::json::check`). The two texts hold the
//! same JSON value; they differ only in member order (protocall writes
//! fields in the order of the binary encoding, that is by field number,
//! pbjson in the order of the `.proto` file).

use protocall_benches::{Dataset, json, with_types};

#[test]
fn json_cross_check() {
    for dataset in Dataset::ALL {
        let (same_bytes, same_value, sizes) = with_types!(dataset, |Pc, Pb| {
            let check = json::check::<Pc, Pb>(dataset).unwrap_or_else(|e| panic!("{e}"));
            (
                check.same_bytes,
                check.same_value,
                (check.json.len(), check.pbjson.len()),
            )
        });
        assert!(same_value, "{}: the two JSON values differ", dataset.name());
        println!(
            "{}: protocall {} B, pbjson {} B of JSON; same bytes: {same_bytes}, same value: {same_value}",
            dataset.name(),
            sizes.0,
            sizes.1
        );
    }
}
