#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
pub struct Ping {
    #[proto(tag = 1)]
    pub id: i32,
}

#[protocall::service(package = "ui")]
pub trait Pinger {
    type PongStream: protocall::server::Stream<Item = Result<Ping, protocall::Status>> + Send + 'static;

    async fn ping(
        &self,
        request: protocall::Request<Ping>,
    ) -> Result<protocall::Response<Self::PongStream>, protocall::Status>;
}

fn main() {}
