#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
pub struct Point {
    #[proto(tag = 1)]
    pub x: i32,
    #[proto(tag = 19500)]
    pub y: i32,
}

fn main() {}
