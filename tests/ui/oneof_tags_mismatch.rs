#[derive(Clone, PartialEq, Debug, protocall::Oneof)]
pub enum Kind {
    #[proto(tag = 8)]
    A(i32),
    #[proto(tag = 10)]
    B(String),
}

#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
pub struct M {
    #[proto(oneof, tags = "8, 9")]
    pub kind: Option<Kind>,
}

fn main() {}
