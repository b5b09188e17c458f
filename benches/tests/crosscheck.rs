//! Before measuring: protocall and prost must agree on every dataset.
//!
//! For each payload: protocall's encoding decodes with prost to prost's own
//! decoding and the reverse; `encoded_len` matches what is written; nothing
//! lands in protocall's unknown fields (a field protocall failed to
//! recognise would still round-trip through them and hide the bug); and the
//! proto2 payloads re-encode byte for byte (GoogleMessage2 only does so with
//! real group support).

use prost::Message as ProstMessage;
use protocall::Message as PcMessage;
use protocall_benches::{Dataset, pb, pc};

/// Decodes with both, then crosses the encodings over.
fn cross_check<C: PcMessage + PartialEq, P: ProstMessage + Default + PartialEq>(
    dataset: Dataset,
) -> (C, P) {
    let payload = dataset.payload();
    let c = C::decode(payload.as_slice())
        .unwrap_or_else(|e| panic!("{}: protocall decode: {e}", dataset.name()));
    let p = P::decode(payload.as_slice())
        .unwrap_or_else(|e| panic!("{}: prost decode: {e}", dataset.name()));

    // protocall → bytes → prost
    let c_bytes = c.encode_to_vec();
    assert_eq!(
        c.encoded_len(),
        c_bytes.len(),
        "{}: protocall encoded_len",
        dataset.name()
    );
    let mut c_buf = Vec::new();
    c.encode(&mut c_buf).unwrap();
    assert_eq!(
        c_buf,
        c_bytes,
        "{}: protocall encode vs encode_to_vec",
        dataset.name()
    );
    let p_from_c = P::decode(c_bytes.as_slice()).unwrap_or_else(|e| {
        panic!(
            "{}: prost cannot decode protocall's encoding: {e}",
            dataset.name()
        )
    });
    assert!(
        p_from_c == p,
        "{}: prost(protocall.encode) != prost(payload)",
        dataset.name()
    );

    // prost → bytes → protocall
    let p_bytes = p.encode_to_vec();
    assert_eq!(
        p.encoded_len(),
        p_bytes.len(),
        "{}: prost encoded_len",
        dataset.name()
    );
    let c_from_p = C::decode(p_bytes.as_slice()).unwrap_or_else(|e| {
        panic!(
            "{}: protocall cannot decode prost's encoding: {e}",
            dataset.name()
        )
    });
    assert!(
        c_from_p == c,
        "{}: protocall(prost.encode) != protocall(payload)",
        dataset.name()
    );

    // Both encoders write the same number of bytes.
    assert_eq!(
        c_bytes.len(),
        p_bytes.len(),
        "{}: encoded sizes differ",
        dataset.name()
    );
    (c, p)
}

#[test]
fn google_message1_proto2() {
    let (c, _) = cross_check::<
        pc::benchmarks::proto2::GoogleMessage1,
        pb::benchmarks::proto2::GoogleMessage1,
    >(Dataset::M1p2);
    assert!(
        c._unknown_fields.is_empty(),
        "unknown fields: {:?}",
        c._unknown_fields
    );
    let sub = c.field15.as_ref().expect("field15 is set");
    assert!(
        sub._unknown_fields.is_empty(),
        "unknown fields in field15: {:?}",
        sub._unknown_fields
    );
    // proto2 presence keeps fields explicitly set to their defaults.
    assert_eq!(
        c.encode_to_vec(),
        Dataset::M1p2.payload(),
        "byte-exact round trip"
    );
}

#[test]
fn google_message1_proto3() {
    let (c, _) = cross_check::<
        pc::benchmarks::proto3::GoogleMessage1,
        pb::benchmarks::proto3::GoogleMessage1,
    >(Dataset::M1p3);
    assert!(
        c._unknown_fields.is_empty(),
        "unknown fields: {:?}",
        c._unknown_fields
    );
    let sub = c.field15.as_ref().expect("field15 is set");
    assert!(
        sub._unknown_fields.is_empty(),
        "unknown fields in field15: {:?}",
        sub._unknown_fields
    );
    // The payload encodes some zero values explicitly; proto3 drops them.
    assert_eq!(c.encoded_len(), 221);
}

#[test]
fn google_message2_with_group() {
    let (c, p) = cross_check::<
        pc::benchmarks::proto2::GoogleMessage2,
        pb::benchmarks::proto2::GoogleMessage2,
    >(Dataset::M2);
    assert!(
        c._unknown_fields.is_empty(),
        "unknown fields: {:?}",
        c._unknown_fields
    );
    assert!(!c.group1.is_empty(), "the group was not decoded");
    assert_eq!(c.group1.len(), p.group1.len(), "group count");
    for (i, g) in c.group1.iter().enumerate() {
        assert!(
            g._unknown_fields.is_empty(),
            "unknown fields in group1[{i}]: {:?}",
            g._unknown_fields
        );
        if let Some(m) = &g.field31 {
            assert!(
                m._unknown_fields.is_empty(),
                "unknown fields in group1[{i}].field31"
            );
        }
    }
    let payload = Dataset::M2.payload();
    let bytes = c.encode_to_vec();
    assert_eq!(bytes.len(), payload.len(), "re-encoded size");
    assert_eq!(bytes, payload, "byte-exact round trip");
}

#[test]
fn datasets_parse() {
    for dataset in Dataset::ALL {
        assert_eq!(Dataset::from_name(dataset.name()), Some(dataset));
        assert!(!dataset.payload().is_empty());
    }
}

/// The smallest per-byte memory budget (no base) that decodes `bytes`.
fn least_budget<C: PcMessage>(bytes: &[u8]) -> usize {
    let fits = |per_byte| {
        protocall::DecodeOptions::new()
            .memory_budget(per_byte, 0)
            .decode::<C, _>(bytes)
            .is_ok()
    };
    let (mut low, mut high) = (0, 4096);
    assert!(fits(high));
    while low + 1 < high {
        let mid = (low + high) / 2;
        if fits(mid) { high = mid } else { low = mid }
    }
    high
}

#[test]
fn datasets_fit_a_fraction_of_the_default_budget() {
    for dataset in Dataset::ALL {
        let bytes = dataset.payload();
        let need = protocall_benches::with_types!(dataset, |Pc, Pb| least_budget::<Pc>(&bytes));
        eprintln!("{}: {need} bytes per input byte", dataset.name());
        // m1p2 and m1p3 need 1, m2 (repeated groups) 10: the default
        // leaves room for denser messages than these
        assert!(
            2 * need <= protocall::DecodeOptions::DEFAULT_BUDGET_PER_BYTE,
            "{} needs {need} bytes per input byte",
            dataset.name()
        );
    }
}
