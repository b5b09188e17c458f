#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
pub struct Ping {
    #[proto(tag = 1)]
    pub id: i32,
}

#[protocall::service(package = "ui")]
pub trait Pinger {
    async fn ping(
        &self,
        request: protocall::Request<Ping>,
    ) -> Result<protocall::Response<Ping>, protocall::Status>;

    #[rpc(name = "Ping")]
    async fn ping_again(
        &self,
        request: protocall::Request<Ping>,
    ) -> Result<protocall::Response<Ping>, protocall::Status>;
}

fn main() {}
