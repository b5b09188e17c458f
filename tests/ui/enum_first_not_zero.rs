#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, protocall::Enumeration)]
pub enum Color {
    Red = 1,
    Green = 2,
}

fn main() {}
