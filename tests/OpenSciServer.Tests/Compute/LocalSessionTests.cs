using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenSciServer.Compute;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Tests.Compute;

/// <summary>
/// A real Jupyter in a real bubblewrap sandbox as a real uid, reached through the proxy: what the owner
/// can do, and what nobody else (and nothing inside) can reach (SECURITY.md, "Notebook proxy" and
/// "Sessions and jobs"). All tests share Alice's one session.
/// </summary>
public sealed class LocalSessionTests(ComputeWorld world) : IClassFixture<ComputeWorld>
{
    [Fact]
    public async Task TreePage_ThroughTheProxy_Is200ForTheOwner_AndNeverShowsTheJupyterToken()
    {
        using var alice = world.Client(world.AliceToken);

        var page = await alice.GetAsync($"{Jupyter.Base(world.SessionId)}tree");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("Jupyter", html, StringComparison.Ordinal);
        var secret = await JupyterTokenAsync();
        Assert.DoesNotContain(secret, html, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, string.Join('\n', page.Headers.Concat(page.Content.Headers).SelectMany(h => h.Value)), StringComparison.Ordinal);
        var api = await alice.GetStringAsync($"/api/compute/sessions/{world.SessionId}");
        Assert.DoesNotContain(secret, api, StringComparison.Ordinal);
        Assert.DoesNotContain("upstream", api, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ContentsApi_CreatesAFileInThePersistentVolume_OwnedByTheUsersMappedUid()
    {
        using var alice = world.Client(world.AliceToken);

        var put = await alice.PutAsJsonAsync($"{Jupyter.Base(world.SessionId)}api/contents/Storage/{world.Alice}/persistent/from-jupyter.txt",
            new { type = "file", format = "text", content = "written in the session" });

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var onDisk = Path.Combine(world.DataDirectory, "volumes", "Storage", world.Alice, "persistent", "from-jupyter.txt");
        Assert.Equal("written in the session", await File.ReadAllTextAsync(onDisk));
        var uid = await UidAsync();
        Assert.InRange(uid, 200_000, 299_999);
        Assert.Equal(uid, OwnerUid(onDisk));
        // The file service sees it as well.
        Assert.Equal("written in the session", await alice.GetStringAsync($"/api/files/content/Storage/{world.Alice}/persistent/from-jupyter.txt"));
    }

    [Fact]
    public async Task Terminal_OverTheProxysWebSocket_RunsAsTheUsersOwnUid()
    {
        var output = await Jupyter.RunAsync(world, world.AliceToken, world.SessionId, "id -u; whoami; echo home=$HOME");

        var uid = await UidAsync();
        Assert.Contains(uid.ToString(System.Globalization.CultureInfo.InvariantCulture), output, StringComparison.Ordinal);
        Assert.Contains(world.Alice, output, StringComparison.Ordinal);
        Assert.Contains("home=/home/idies", output, StringComparison.Ordinal);
        Assert.DoesNotContain("\n0\n", "\n" + output + "\n", StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kernel_OverTheProxysWebSocket_ExecutesCode_ReadsTheDataVolume_WritesPersistent()
    {
        var output = await Jupyter.ExecuteAsync(world, world.AliceToken, world.SessionId, $$"""
            import os, numpy, astropy
            print(open('/home/idies/workspace/{{ComputeWorld.DataVolume}}/readme.txt').read().strip())
            open('/home/idies/workspace/Storage/{{world.Alice}}/persistent/from-kernel.txt', 'w').write('kernel')
            print('uid', os.getuid(), 'numpy', numpy.__version__ > '1')
            """);

        Assert.Contains("the sky is big", output, StringComparison.Ordinal);
        Assert.Contains($"uid {await UidAsync()} numpy True", output, StringComparison.Ordinal);
        Assert.Equal("kernel", await File.ReadAllTextAsync(Path.Combine(world.DataDirectory, "volumes", "Storage", world.Alice, "persistent", "from-kernel.txt")));
    }

    [Fact]
    public async Task AnotherUser_GetsNotFound_ForHttpAndForTheWebSocketUpgrade()
    {
        using var bob = world.Client(world.BobToken);

        var page = await bob.GetAsync($"{Jupyter.Base(world.SessionId)}tree");
        var api = await bob.GetAsync($"{Jupyter.Base(world.SessionId)}api/contents");
        var session = await bob.GetAsync($"/api/compute/sessions/{world.SessionId}");
        var stop = await bob.PostAsync($"/api/compute/sessions/{world.SessionId}/stop", null);

        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, api.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, session.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, stop.StatusCode);
        using var ws = new ClientWebSocket();
        ws.Options.CollectHttpResponseDetails = true;
        ws.Options.SetRequestHeader("X-Auth-Token", world.BobToken);
        await Assert.ThrowsAsync<WebSocketException>(() =>
            ws.ConnectAsync(new Uri($"ws://127.0.0.1:{world.Port}{Jupyter.Base(world.SessionId)}terminals/websocket/1"), CancellationToken.None));
        Assert.Equal(HttpStatusCode.NotFound, ws.HttpStatusCode);
    }

    [Fact]
    public async Task Anonymous_PagesRedirectToLogin_ApiCallsAndWebSocketsGet401()
    {
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{world.Port}") };
        using var page = new HttpRequestMessage(HttpMethod.Get, $"{Jupyter.Base(world.SessionId)}tree");
        page.Headers.Accept.ParseAdd("text/html");

        var pageResponse = await anonymous.SendAsync(page);
        var api = await anonymous.GetAsync($"{Jupyter.Base(world.SessionId)}api/contents");

        Assert.Equal(HttpStatusCode.Redirect, pageResponse.StatusCode);
        Assert.StartsWith("/login?returnUrl=", pageResponse.Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        using var ws = new ClientWebSocket();
        ws.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() =>
            ws.ConnectAsync(new Uri($"ws://127.0.0.1:{world.Port}{Jupyter.Base(world.SessionId)}terminals/websocket/1"), CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, ws.HttpStatusCode);
    }

    [Fact]
    public async Task FromInside_ThePlatformsDataKeysDatabaseProcessAndOtherVolumes_AreNotVisible()
    {
        var data = world.DataDirectory;
        var pid = Environment.ProcessId; // the platform runs in the test process
        var output = await Jupyter.RunAsync(world, world.AliceToken, world.SessionId, string.Join("; ",
            $"cat {data}/platform.db 2>&1 | head -c 100",
            $"ls {data}/keys 2>&1",
            $"cat /proc/{pid}/environ 2>&1 | head -c 100",
            $"ls {data}/volumes/Storage/{world.Bob} 2>&1",
            $"ls /home/idies/workspace/Storage",
            "ls /home/idies/workspace",
            "cat /etc/shadow 2>&1",
            "ls /proc | grep -c '^[0-9]'",
            $"touch /home/idies/workspace/{ComputeWorld.DataVolume}/x 2>&1",
            "touch /home/idies/workspace/new 2>&1"));

        Assert.DoesNotContain("SQLite format", output, StringComparison.Ordinal);
        Assert.DoesNotContain("key-", output, StringComparison.Ordinal);
        Assert.DoesNotContain("OPENSCISERVER", output, StringComparison.Ordinal);
        Assert.DoesNotContain("PATH=", output, StringComparison.Ordinal);
        Assert.Contains($"cannot access '{data}/volumes/Storage/{world.Bob}': No such file or directory", output, StringComparison.Ordinal);
        Assert.Contains($"{data}/platform.db: No such file or directory", output, StringComparison.Ordinal);
        Assert.Contains($"/proc/{pid}/environ: No such file or directory", output, StringComparison.Ordinal);
        Assert.Contains("/etc/shadow: No such file or directory", output, StringComparison.Ordinal);
        Assert.Contains(world.Alice, output, StringComparison.Ordinal);
        Assert.Contains("Read-only file system", output, StringComparison.Ordinal);
        var processes = output.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && l.All(char.IsAsciiDigit)).Select(int.Parse).ToList();
        Assert.Contains(processes, n => n < 30); // its own pid namespace: a handful of processes, not the machine's
    }

    [Fact]
    public async Task SymlinkPointingOutside_IsNotFollowedOutOfTheSandbox_NorByTheFileService()
    {
        var data = world.DataDirectory;
        var persistent = $"/home/idies/workspace/Storage/{world.Alice}/persistent";
        var output = await Jupyter.RunAsync(world, world.AliceToken, world.SessionId, string.Join("; ",
            $"ln -sf {data}/platform.db {persistent}/db-link",
            $"ln -sf {data}/volumes/Storage/{world.Bob}/persistent {persistent}/bob-link",
            $"cat {persistent}/db-link 2>&1 | head -c 60",
            $"ls {persistent}/bob-link/ 2>&1"));

        Assert.DoesNotContain("SQLite format", output, StringComparison.Ordinal);
        Assert.Contains("No such file or directory", output, StringComparison.Ordinal);
        using var alice = world.Client(world.AliceToken);
        var viaFiles = await alice.GetAsync($"/api/files/content/Storage/{world.Alice}/persistent/db-link");
        Assert.Equal(HttpStatusCode.Forbidden, viaFiles.StatusCode);
        var listing = await alice.GetAsync($"/api/files/list/Storage/{world.Alice}/persistent/bob-link");
        Assert.True(listing.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.BadRequest, $"{listing.StatusCode}");
    }

    [Fact]
    public async Task KeystoneTokenAndSciScriptConfig_AreInTheHome_AndTheTokenWorksForTheUser()
    {
        var output = await Jupyter.RunAsync(world, world.AliceToken, world.SessionId,
            "cat /home/idies/keystone.token; echo; cat /home/idies/.config/sciserver/sciscript.json; stat -c '%u %a' /home/idies/keystone.token");

        var token = output.Split('\n')[0].Trim();
        Assert.StartsWith("oss_", token, StringComparison.Ordinal);
        Assert.Contains("\"ComputeUrl\"", output, StringComparison.Ordinal);
        Assert.Contains($"http://127.0.0.1:{world.Port}/login-portal/keystone/v3/tokens", output, StringComparison.Ordinal);
        Assert.Contains($"{await UidAsync()} 600", output, StringComparison.Ordinal);
        using var fromSession = world.Client(token);
        var me = await fromSession.GetFromJsonAsync<JsonElement>("/api/account");
        Assert.Equal(world.Alice, me.GetProperty("username").GetString());
    }

    [Fact]
    public async Task UsersJupyterConfig_DoesNotTurnOffAuthentication()
    {
        // Alice tries to switch the token off in every place a Jupyter server might read its configuration from.
        await Jupyter.RunAsync(world, world.AliceToken, world.SessionId, string.Join("; ",
            "mkdir -p ~/.jupyter",
            "printf 'c.NotebookApp.token = \"\"\\nc.NotebookApp.password = \"\"\\n' > ~/.jupyter/jupyter_notebook_config.py",
            "echo '{\"NotebookApp\": {\"token\": \"\", \"password\": \"\"}}' > ~/.jupyter/jupyter_notebook_config.json",
            $"cp ~/.jupyter/jupyter_notebook_config.py /home/idies/workspace/Storage/{world.Alice}/persistent/"));
        var port = await UpstreamPortAsync();
        using var direct = new HttpClient();

        var before = await direct.GetAsync($"http://127.0.0.1:{port}{Jupyter.Base(world.SessionId)}api/contents");

        Assert.Equal(HttpStatusCode.Forbidden, before.StatusCode);
        // Its configuration comes from the platform's read-only folder, not from the home.
        var env = await Jupyter.RunAsync(world, world.AliceToken, world.SessionId, "echo $JUPYTER_CONFIG_DIR; touch $JUPYTER_CONFIG_DIR/x 2>&1");
        Assert.Contains("/etc/opensciserver/jupyter", env, StringComparison.Ordinal);
        Assert.Contains("Read-only file system", env, StringComparison.Ordinal);
    }

    private async Task<string> JupyterTokenAsync()
    {
        await using var scope = world.Platform.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        return (await db.Set<ComputeSession>().AsNoTracking().FirstAsync(s => s.Id == world.SessionId)).JupyterToken!;
    }

    private async Task<int> UpstreamPortAsync()
    {
        await using var scope = world.Platform.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        return (await db.Set<ComputeSession>().AsNoTracking().FirstAsync(s => s.Id == world.SessionId)).UpstreamPort!.Value;
    }

    private async Task<int> UidAsync()
    {
        await using var scope = world.Platform.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
        return (await db.Set<ComputeSession>().AsNoTracking().FirstAsync(s => s.Id == world.SessionId)).Uid!.Value;
    }

    internal static int OwnerUid(string path)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/stat", ["-c", "%u", path]) { RedirectStandardOutput = true })!;
        var text = stat.StandardOutput.ReadToEnd();
        stat.WaitForExit();
        return int.Parse(text.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
