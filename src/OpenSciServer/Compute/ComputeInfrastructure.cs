using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading.Channels;

namespace OpenSciServer.Compute;

/// <summary>The backends registered with TryAddEnumerable, by the name a domain gives.</summary>
public sealed class ComputeBackendRegistry(IEnumerable<IComputeBackend> backends)
{
    private readonly Dictionary<string, IComputeBackend> _byName = backends.ToDictionary(b => b.Name, StringComparer.Ordinal);

    public IComputeBackend? Find(string name) => _byName.GetValueOrDefault(name);

    public IEnumerable<IComputeBackend> All => _byName.Values;
}

/// <summary>Wakes <see cref="ComputeWorker"/> when a session should start; the database says which.</summary>
public sealed class ComputeSignal
{
    private readonly Channel<bool> _channel = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Wake() => _channel.Writer.TryWrite(true);

    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await _channel.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The interval passed.
        }
    }
}

/// <summary>What a session's Jupyter says about itself.</summary>
public sealed record JupyterStatus(DateTimeOffset? LastActivity, int Kernels, int Connections);

/// <summary>Asks a session's Jupyter server (with its token, from the server-side record) whether it answers and when it was last used.</summary>
public sealed class JupyterProbe : IDisposable
{
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false, ConnectTimeout = TimeSpan.FromSeconds(3) })
    {
        Timeout = TimeSpan.FromSeconds(5),
    };

    public async Task<JupyterStatus?> StatusAsync(ComputeSession session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (session.UpstreamHost is null || session.UpstreamPort is null || session.JupyterToken is null)
        {
            return null;
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://{session.UpstreamHost}:{session.UpstreamPort}{SessionService.BaseUrl(session.Id)}api/status"));
        request.Headers.Authorization = new AuthenticationHeaderValue("token", session.JupyterToken);
        try
        {
            using var response = await _client.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            var root = doc.RootElement;
            DateTimeOffset? last = root.TryGetProperty("last_activity", out var la) && la.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(la.GetString(), System.Globalization.CultureInfo.InvariantCulture, out var parsed)
                ? parsed : null;
            return new JupyterStatus(last, root.TryGetProperty("kernels", out var k) && k.TryGetInt32(out var kn) ? kn : 0,
                root.TryGetProperty("connections", out var c) && c.TryGetInt32(out var cn) ? cn : 0);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            return null;
        }
    }

    public void Dispose() => _client.Dispose();
}
