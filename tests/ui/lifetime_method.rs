#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
pub struct Ping {
    #[proto(tag = 1)]
    pub id: i32,
}

#[protocall::service(package = "ui")]
pub trait Pinger {
    async fn ping<'a>(
        &'a self,
        request: protocall::Request<Ping>,
    ) -> Result<protocall::Response<Ping>, protocall::Status>;
}

fn main() {}
