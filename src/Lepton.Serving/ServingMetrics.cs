// The Prometheus series a registry exports: requests and errors by model and status code, request
// and predict latency, batch sizes and queue depth. Each registry has its own collector registry.
using Prometheus;

namespace Lepton.Serving;

/// <summary>The serving metrics of one <see cref="ModelRegistry"/>, in a collector registry of its own.</summary>
internal sealed class ServingMetrics
{
    private static readonly double[] LatencyBuckets = Histogram.ExponentialBuckets(0.0005, 2, 16);
    private static readonly double[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

    public ServingMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        Requests = factory.CreateCounter("lepton_serving_requests_total", "Requests answered, by model and HTTP status code.", "model", "code");
        Errors = factory.CreateCounter("lepton_serving_request_errors_total", "Requests answered with a 4xx or 5xx status, by model and code.", "model", "code");
        RequestLatency = factory.CreateHistogram("lepton_serving_request_duration_seconds", "Time from reading a request to answering it, by model.",
            new HistogramConfiguration { LabelNames = ["model"], Buckets = LatencyBuckets });
        PredictLatency = factory.CreateHistogram("lepton_serving_predict_duration_seconds", "Time of one batched Predict call, by model and version.",
            new HistogramConfiguration { LabelNames = ["model", "version"], Buckets = LatencyBuckets });
        BatchSize = factory.CreateHistogram("lepton_serving_batch_size", "Examples per Predict call, by model and version.",
            new HistogramConfiguration { LabelNames = ["model", "version"], Buckets = BatchBuckets });
        QueueDepth = factory.CreateGauge("lepton_serving_queue_depth", "Requests waiting for a batch, by model and version.", "model", "version");
    }

    public CollectorRegistry Registry { get; }

    public Counter Requests { get; }

    public Counter Errors { get; }

    public Histogram RequestLatency { get; }

    public Histogram PredictLatency { get; }

    public Histogram BatchSize { get; }

    public Gauge QueueDepth { get; }
}
