#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
pub struct Point {
    #[proto(tag = 0)]
    pub x: i32,
}

fn main() {}
