//! The generated servers route the Thanos gRPC paths, checked with a raw client that
//! names each path literally.

use strata_storeapi::pb::thanos::info::{self, info_server};
use strata_storeapi::pb::thanos::{
    self, InfoRequest, InfoResponse, LabelNamesRequest, LabelNamesResponse, LabelValuesRequest,
    LabelValuesResponse, SeriesRequest, SeriesResponse, StoreType, WriteRequest, WriteResponse,
    series_response::Result as Frame, store_server, writeable_store_server,
};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::codegen::tokio_stream::{self, StreamExt};
use tonic::transport::{Channel, Endpoint, Server, server::TcpIncoming};
use tonic::{Request, Response, Status};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug)]
struct TestStore;

#[tonic::async_trait]
impl store_server::Store for TestStore {
    async fn info(&self, _: Request<InfoRequest>) -> Result<Response<InfoResponse>, Status> {
        Ok(Response::new(InfoResponse {
            min_time: -1,
            max_time: 42,
            store_type: StoreType::Store as i32,
            ..Default::default()
        }))
    }

    type SeriesStream = tokio_stream::Iter<std::vec::IntoIter<Result<SeriesResponse, Status>>>;

    async fn series(
        &self,
        request: Request<SeriesRequest>,
    ) -> Result<Response<Self::SeriesStream>, Status> {
        let min_time = request.into_inner().min_time;
        let frames = vec![
            Ok(SeriesResponse {
                result: Some(Frame::Warning(format!("min_time={min_time}"))),
            }),
            Ok(SeriesResponse {
                result: Some(Frame::Series(thanos::Series::default())),
            }),
        ];
        Ok(Response::new(tokio_stream::iter(frames)))
    }

    async fn label_names(
        &self,
        _: Request<LabelNamesRequest>,
    ) -> Result<Response<LabelNamesResponse>, Status> {
        Ok(Response::new(LabelNamesResponse {
            names: vec!["__name__".into(), "job".into()],
            ..Default::default()
        }))
    }

    async fn label_values(
        &self,
        request: Request<LabelValuesRequest>,
    ) -> Result<Response<LabelValuesResponse>, Status> {
        Ok(Response::new(LabelValuesResponse {
            values: vec![request.into_inner().label],
            ..Default::default()
        }))
    }
}

#[derive(Debug)]
struct TestInfo;

#[tonic::async_trait]
impl info_server::Info for TestInfo {
    async fn info(
        &self,
        _: Request<info::InfoRequest>,
    ) -> Result<Response<info::InfoResponse>, Status> {
        Ok(Response::new(info::InfoResponse {
            component_type: "store".into(),
            store: Some(info::StoreInfo {
                supports_without_replica_labels: true,
                ..Default::default()
            }),
            ..Default::default()
        }))
    }
}

#[derive(Debug)]
struct TestWriter;

#[tonic::async_trait]
impl writeable_store_server::WriteableStore for TestWriter {
    async fn remote_write(
        &self,
        request: Request<WriteRequest>,
    ) -> Result<Response<WriteResponse>, Status> {
        if request.into_inner().tenant == "t1" {
            Ok(Response::new(WriteResponse {}))
        } else {
            Err(Status::invalid_argument("unexpected tenant"))
        }
    }
}

async fn serve() -> Result<Channel, BoxError> {
    let incoming = TcpIncoming::bind("127.0.0.1:0".parse()?)?;
    let addr = incoming.local_addr()?;
    let server = Server::builder()
        .add_service(store_server::StoreServer::new(TestStore))
        .add_service(info_server::InfoServer::new(TestInfo))
        .add_service(writeable_store_server::WriteableStoreServer::new(
            TestWriter,
        ))
        .serve_with_incoming(incoming);
    tokio::spawn(server);
    Ok(Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await?)
}

async fn unary<Req, Resp>(
    channel: &Channel,
    path: &'static str,
    request: Req,
) -> Result<Resp, Status>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
    let response = grpc
        .unary(
            Request::new(request),
            PathAndQuery::from_static(path),
            codec,
        )
        .await?;
    Ok(response.into_inner())
}

#[test]
fn service_names_are_thanos_ones() {
    assert_eq!(store_server::SERVICE_NAME, "thanos.Store");
    assert_eq!(info_server::SERVICE_NAME, "thanos.info.Info");
    assert_eq!(
        writeable_store_server::SERVICE_NAME,
        "thanos.WriteableStore"
    );
}

#[tokio::test]
async fn servers_answer_on_thanos_paths() -> Result<(), BoxError> {
    let channel = serve().await?;

    let names: LabelNamesResponse = unary(
        &channel,
        "/thanos.Store/LabelNames",
        LabelNamesRequest::default(),
    )
    .await?;
    assert_eq!(names.names, vec!["__name__", "job"]);

    let values: LabelValuesResponse = unary(
        &channel,
        "/thanos.Store/LabelValues",
        LabelValuesRequest {
            label: "job".into(),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(values.values, vec!["job"]);

    let legacy: InfoResponse =
        unary(&channel, "/thanos.Store/Info", InfoRequest::default()).await?;
    assert_eq!(legacy.store_type(), StoreType::Store);
    assert_eq!((legacy.min_time, legacy.max_time), (-1, 42));

    let info: info::InfoResponse = unary(
        &channel,
        "/thanos.info.Info/Info",
        info::InfoRequest::default(),
    )
    .await?;
    assert_eq!(info.component_type, "store");
    assert!(
        info.store
            .expect("store info")
            .supports_without_replica_labels
    );

    let _: WriteResponse = unary(
        &channel,
        "/thanos.WriteableStore/RemoteWrite",
        WriteRequest {
            tenant: "t1".into(),
            ..Default::default()
        },
    )
    .await?;

    // Series is server-streaming.
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await?;
    let codec = tonic_prost::ProstCodec::<SeriesRequest, SeriesResponse>::default();
    let request = SeriesRequest {
        min_time: -5,
        ..Default::default()
    };
    let mut stream = grpc
        .server_streaming(
            Request::new(request),
            PathAndQuery::from_static("/thanos.Store/Series"),
            codec,
        )
        .await?
        .into_inner();
    let mut frames = Vec::new();
    while let Some(frame) = stream.next().await {
        frames.push(frame?.result);
    }
    assert_eq!(
        frames,
        vec![
            Some(Frame::Warning("min_time=-5".into())),
            Some(Frame::Series(thanos::Series::default())),
        ]
    );

    // A path outside the Thanos API is not routed.
    let err = unary::<LabelNamesRequest, LabelNamesResponse>(
        &channel,
        "/thanos.Store/Labels",
        LabelNamesRequest::default(),
    )
    .await
    .expect_err("unknown method");
    assert_eq!(err.code(), tonic::Code::Unimplemented);
    Ok(())
}

#[tokio::test]
async fn generated_clients_reach_generated_servers() -> Result<(), BoxError> {
    let channel = serve().await?;
    let mut store = thanos::store_client::StoreClient::new(channel.clone());
    let values = store
        .label_values(LabelValuesRequest {
            label: "instance".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(values.values, vec!["instance"]);

    let mut info = info::info_client::InfoClient::new(channel);
    let response = info.info(info::InfoRequest {}).await?.into_inner();
    assert_eq!(response.component_type, "store");
    Ok(())
}
