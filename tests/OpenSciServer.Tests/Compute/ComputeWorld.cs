using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Compute;

/// <summary>
/// One platform on a real loopback port (the proxy's WebSockets need a real connection), two users,
/// a data volume shared with everyone, and one running session of Alice's with her persistent volume
/// read-write and the data volume read-only. Jupyter starts in a few seconds, so the tests that only
/// look share this one session.
/// </summary>
public sealed class ComputeWorld : IAsyncLifetime
{
    public const string DataVolume = "sky";

    public PlatformFactory Platform { get; } = new(DatabaseKind.Sqlite) { KestrelPort = TestPorts.Free() };

    public string Alice { get; } = PlatformFactory.UniqueName("alice");

    public string Bob { get; } = PlatformFactory.UniqueName("bob");

    public string AliceToken { get; private set; } = "";

    public string BobToken { get; private set; } = "";

    public string AdminToken { get; private set; } = "";

    public Guid SessionId { get; private set; }

    public int Port => Platform.KestrelPort!.Value;

    public async Task InitializeAsync()
    {
        Platform.Settings["Compute:CheckInterval"] = "00:00:01";
        // Each world its own uids: worlds (and the browser tests' platforms, from 200000) run side by side,
        // and tests look for a session's processes by uid.
        var uids = 210_000 + (Random.Shared.Next(0, 800) * 100);
        Platform.Settings["Compute:UidRangeStart"] = uids.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Platform.Settings["Compute:UidRangeEnd"] = (uids + 99).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Platform.InitializeAsync();
        AliceToken = await Platform.CreateUserAsync(Alice);
        BobToken = await Platform.CreateUserAsync(Bob);
        AdminToken = await Platform.LoginAdminAsync();

        var folder = Directory.CreateDirectory(Path.Combine(Platform.DataDirectory, "volumes", "Data", DataVolume)).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "readme.txt"), "the sky is big\n");
        using var admin = Platform.CreateApiClient(AdminToken);
        var registered = await admin.PostAsJsonAsync("/api/admin/data-volumes", new { name = DataVolume, path = folder });
        Assert.True(registered.IsSuccessStatusCode, await registered.Content.ReadAsStringAsync());
        var resourceId = (await registered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resourceId").GetGuid();
        var shared = await admin.PutAsJsonAsync($"/api/resources/{resourceId}/privileges", new { type = "group", name = "public", actions = new[] { "read" } });
        Assert.True(shared.IsSuccessStatusCode, await shared.Content.ReadAsStringAsync());

        SessionId = await StartSessionAsync(AliceToken, Alice, "analysis");
    }

    public async Task DisposeAsync()
    {
        // Sessions outlive the platform on purpose; the tests' own must not outlive the tests.
        foreach (var token in new[] { AliceToken, BobToken })
        {
            using var client = Platform.CreateApiClient(token);
            foreach (var s in (await client.GetFromJsonAsync<JsonElement>("/api/compute/sessions")).EnumerateArray())
            {
                await client.DeleteAsync($"/api/compute/sessions/{s.GetProperty("id").GetGuid()}");
            }
        }

        await Platform.DisposeAsync();
    }

    public HttpClient Client(string token) => Platform.CreateApiClient(token);

    /// <summary>Creates a session with the user's persistent volume (rw) and the data volume (ro) and waits until it runs.</summary>
    public async Task<Guid> StartSessionAsync(string token, string user, string name, string domain = "Local", string image = "Python 3 (astro)")
    {
        using var client = Client(token);
        var created = await client.PostAsJsonAsync("/api/compute/sessions", new
        {
            name,
            domain,
            image,
            dataVolumes = new[] { DataVolume },
            userVolumes = new[] { new { rootVolume = "Storage", owner = user, name = "persistent", writable = true } },
        });
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await WaitForStatusAsync(client, id, "Running");
        return id;
    }

    public static async Task<JsonElement> WaitForStatusAsync(HttpClient client, Guid id, string status, int seconds = 90)
    {
        JsonElement session = default;
        for (var i = 0; i < seconds * 5; i++)
        {
            session = await client.GetFromJsonAsync<JsonElement>($"/api/compute/sessions/{id}");
            var now = session.GetProperty("status").GetString();
            if (now == status)
            {
                return session;
            }

            Assert.True(now is "Starting" or "Running" || now == status, $"session went {now}: {session}");
            await Task.Delay(200);
        }

        Assert.Fail($"session did not become {status}: {session}");
        return session;
    }

    /// <summary>The session's folder in the platform's data, and the platform's own process, for checks from inside.</summary>
    public string DataDirectory => Platform.DataDirectory;
}

/// <summary>Speaks to a session's Jupyter through the proxy: the terminals API and its WebSocket, the kernel protocol.</summary>
public static class Jupyter
{
    public static string Base(Guid session) => $"/compute/sessions/{session}/";

    /// <summary>Opens a WebSocket through the proxy; the answer status is kept for refusals.</summary>
    public static async Task<ClientWebSocket> ConnectAsync(int port, Guid session, string path, string? token)
    {
        var ws = new ClientWebSocket();
        ws.Options.CollectHttpResponseDetails = true;
        if (token is not null)
        {
            ws.Options.SetRequestHeader("X-Auth-Token", token);
        }

        await ws.ConnectAsync(new Uri($"ws://127.0.0.1:{port}{Base(session)}{path}"), CancellationToken.None);
        return ws;
    }

    /// <summary>Runs a shell command in a new Jupyter terminal (as the session's user) and returns what it printed.</summary>
    public static async Task<string> RunAsync(ComputeWorld world, string token, Guid session, string command, int seconds = 60)
    {
        ArgumentNullException.ThrowIfNull(world);
        using var client = world.Client(token);
        var created = await client.PostAsync($"{Base(session)}api/terminals", null);
        Assert.True(created.IsSuccessStatusCode, $"terminal: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        var name = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString();
        try
        {
            using var ws = await ConnectAsync(world.Port, session, $"terminals/websocket/{name}", token);
            var marker = Guid.NewGuid().ToString("N")[..8];
            // The shell computes the markers, so the echo of the typed line never matches them.
            var line = $"echo \"$((40+1))-{marker}\"; {command}; echo \"$((6*7))-{marker}\"\r";
            await SendAsync(ws, JsonSerializer.Serialize(new[] { "stdin", line }));
            var output = new StringBuilder();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            while (!output.ToString().Contains($"42-{marker}", StringComparison.Ordinal))
            {
                var message = await ReceiveAsync(ws, timeout.Token);
                using var doc = JsonDocument.Parse(message);
                if (doc.RootElement[0].GetString() == "stdout")
                {
                    output.Append(doc.RootElement[1].GetString());
                }
            }

            var text = output.ToString();
            var start = text.IndexOf($"41-{marker}", StringComparison.Ordinal) + 11;
            var end = text.IndexOf($"42-{marker}", StringComparison.Ordinal);
            await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            return text[start..end].Replace("\r", "", StringComparison.Ordinal).Trim();
        }
        finally
        {
            await client.DeleteAsync($"{Base(session)}api/terminals/{name}");
        }
    }

    /// <summary>Executes code in a new kernel over the kernel's WebSocket (Jupyter messaging protocol) and returns its stdout.</summary>
    public static async Task<string> ExecuteAsync(ComputeWorld world, string token, Guid session, string code, string kernel = "python3")
    {
        ArgumentNullException.ThrowIfNull(world);
        using var client = world.Client(token);
        var started = await client.PostAsJsonAsync($"{Base(session)}api/kernels", new { name = kernel });
        Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync());
        var kernelId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        try
        {
            using var ws = await ConnectAsync(world.Port, session, $"api/kernels/{kernelId}/channels", token);
            var msgId = Guid.NewGuid().ToString("N");
            var request = new
            {
                header = new { msg_id = msgId, username = "test", session = Guid.NewGuid().ToString("N"), msg_type = "execute_request", version = "5.3", date = DateTimeOffset.UnixEpoch.ToString("O") },
                parent_header = new { },
                metadata = new { },
                content = new { code, silent = false, store_history = false, user_expressions = new { }, allow_stdin = false, stop_on_error = true },
                channel = "shell",
                buffers = Array.Empty<object>(),
            };
            await SendAsync(ws, JsonSerializer.Serialize(request));
            var output = new StringBuilder();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (true)
            {
                using var doc = JsonDocument.Parse(await ReceiveAsync(ws, timeout.Token));
                var root = doc.RootElement;
                if (root.GetProperty("parent_header").TryGetProperty("msg_id", out var parent) && parent.GetString() != msgId)
                {
                    continue;
                }

                var type = root.GetProperty("msg_type").GetString();
                if (type == "stream")
                {
                    output.Append(root.GetProperty("content").GetProperty("text").GetString());
                }
                else if (type == "error")
                {
                    output.Append("ERROR: ").Append(root.GetProperty("content").GetProperty("ename").GetString())
                        .Append(": ").Append(root.GetProperty("content").GetProperty("evalue").GetString());
                }
                else if (type == "status" && root.GetProperty("content").GetProperty("execution_state").GetString() == "idle")
                {
                    return output.ToString();
                }
            }
        }
        finally
        {
            await client.DeleteAsync($"{Base(session)}api/kernels/{kernelId}");
        }
    }

    private static Task SendAsync(ClientWebSocket ws, string text) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    private static async Task<string> ReceiveAsync(ClientWebSocket ws, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await ws.ReceiveAsync(buffer, ct);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException("the WebSocket was closed: " + result.CloseStatusDescription);
            }

            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);
        return Encoding.UTF8.GetString(message.ToArray());
    }
}
