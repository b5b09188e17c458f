#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
pub struct Point {
    #[proto(tag = 1)]
    pub x: i32,
    #[proto(tag = 2)]
    pub y: i8,
}

fn main() {}
