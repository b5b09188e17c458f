//! JSON, text format, the descriptor pool and dynamic messages, on the
//! generated `user` and `route` types.
//!
//! ```text
//! cargo run -p protocall-examples --bin formats
//! ```

use protocall::reflect::{DynamicMessage, ReflectMessage, Value};
use protocall::{json, text};
use protocall_examples::route::{Feature, Point};
use protocall_examples::user::GetUserResponse;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // ProtoJSON, through serde or `protocall::json` with options.
    let user = GetUserResponse {
        id: 7,
        name: "Ada".into(),
        ..Default::default()
    };
    let text = serde_json::to_string(&user)?;
    assert_eq!(text, r#"{"id":7,"name":"Ada"}"#);
    let back: GetUserResponse = json::from_str(&text, &json::Options::default())?;
    assert_eq!(back, user);
    let all = json::Options::new()
        .emit_unpopulated(true)
        .proto_field_names(true);
    println!("json:    {}", json::to_string(&user, &all)?);
    let err = json::from_str::<GetUserResponse>(r#"{"id": "x"}"#, &Default::default()).unwrap_err();
    assert_eq!(err.path(), ".id");
    println!("error:   {err}");

    // Text format.
    let feature = Feature {
        name: "peak \"one\"".into(),
        location: Some(Point {
            latitude: 409_146_138,
            longitude: -746_188_906,
            ..Default::default()
        }),
        ..Default::default()
    };
    let printed = text::to_string_with(&feature, &text::Options::new().single_line(true));
    println!("text:    {printed}");
    assert_eq!(text::from_str::<Feature>(&printed)?, feature);
    let err = text::from_str::<Feature>("name: \"x\"\nlocation { latitude: north }").unwrap_err();
    println!("error:   {}", err.to_string().replace('\n', "\n         "));

    // The same message known only by its descriptor.
    let descriptor = Feature::descriptor();
    let pool = descriptor.pool();
    let route = pool.service("route.Route").expect("in the pool");
    let methods: Vec<String> = route.methods().map(|m| m.path()).collect();
    println!("service: {methods:?}");
    let dynamic = DynamicMessage::decode(
        descriptor.clone(),
        &protocall::Message::encode_to_vec(&feature),
    )?;
    assert_eq!(
        dynamic.get_by_name("name"),
        Some(Value::String(feature.name.clone()))
    );
    println!("dynamic: {}", dynamic.to_json(&Default::default())?);
    Ok(())
}
