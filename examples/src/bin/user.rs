//! The quick-start demo: build a `GetUserResponse`, encode it to protobuf
//! bytes, decode it back.
//!
//! ```text
//! cargo run -p protocall-examples --bin user
//! ```

use protocall::Message;
use protocall_examples::user::{GetUserRequest, GetUserResponse};

fn main() -> Result<(), protocall::DecodeError> {
    let request = GetUserRequest { id: 42, ..Default::default() };
    let reply = GetUserResponse {
        id: request.id,
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
        ..Default::default()
    };
    let bytes = reply.encode_to_vec();
    println!("{} encodes to {} bytes: {bytes:02x?}", GetUserResponse::FULL_NAME, bytes.len());
    let decoded = GetUserResponse::decode(bytes.as_slice())?;
    assert_eq!(decoded, reply);
    println!("decoded: {decoded:?}");
    Ok(())
}
