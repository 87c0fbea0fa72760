using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Compute;

/// <summary>
/// The platform killed with SIGKILL while a session runs: the session keeps running, and the next
/// platform adopts it; a session whose processes died while the platform was down is marked Stopped.
/// </summary>
public sealed class ComputeRestartTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "oss-test-restart-" + Guid.NewGuid().ToString("N")[..8]);
    private ServerProcess _server = default!;

    public Task InitializeAsync()
    {
        _server = new ServerProcess(_data);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task PlatformKilled_RunningSessionIsAdopted_ThenOneThatDiedMeanwhileIsMarkedStopped()
    {
        await _server.StartAsync();
        var user = PlatformFactory.UniqueName("carol");
        using (var admin = await _server.ClientAsync("admin", PlatformFactory.AdminPassword))
        {
            var created = await admin.PostAsJsonAsync("/api/admin/users", new { username = user, email = $"{user}@example.org", password = "a-good-long-password" });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        Guid id;
        int port;
        using (var carol = await _server.ClientAsync(user, "a-good-long-password"))
        {
            var created = await carol.PostAsJsonAsync("/api/compute/sessions", new
            {
                name = "survivor",
                domain = "Local",
                image = "Python 3 (astro)",
                userVolumes = new[] { new { rootVolume = "Storage", owner = user, name = "persistent", writable = true } },
            });
            Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
            id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
            await ComputeWorld.WaitForStatusAsync(carol, id, "Running");
            Assert.Equal(HttpStatusCode.OK, (await carol.GetAsync($"/compute/sessions/{id}/api/contents")).StatusCode);
            port = JupyterPort(id);
        }

        await _server.KillAsync();
        await _server.StartAsync();

        using (var carol = await _server.ClientAsync(user, "a-good-long-password"))
        {
            var session = await carol.GetFromJsonAsync<JsonElement>($"/api/compute/sessions/{id}");
            Assert.Equal("Running", session.GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.OK, (await carol.GetAsync($"/compute/sessions/{id}/api/contents")).StatusCode);
            Assert.Equal(port, JupyterPort(id)); // the same Jupyter server, not a new one
        }

        await _server.KillAsync();
        await KillSessionAsync(id);
        await _server.StartAsync();

        using (var carol = await _server.ClientAsync(user, "a-good-long-password"))
        {
            var session = await carol.GetFromJsonAsync<JsonElement>($"/api/compute/sessions/{id}");
            Assert.Equal("Stopped", session.GetProperty("status").GetString());
            Assert.Contains("ended while the platform was restarting", session.GetProperty("statusReason").GetString(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await carol.GetAsync($"/compute/sessions/{id}/api/contents")).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await carol.DeleteAsync($"/api/compute/sessions/{id}")).StatusCode);
        }
    }

    /// <summary>The port of the session's Jupyter, from its command line (the test cannot read the platform's database while it runs).</summary>
    private static int JupyterPort(Guid id)
    {
        var jupyter = MachineProcesses.All().FirstOrDefault(p =>
            p.Arguments.Contains("notebook") && p.Arguments.Any(a => a.Contains(id.ToString(), StringComparison.Ordinal)) && !p.Arguments.Contains("/usr/bin/bwrap"));
        return jupyter is null ? -1
            : int.Parse(jupyter.Arguments.First(a => a.StartsWith("--port=", StringComparison.Ordinal))["--port=".Length..], CultureInfo.InvariantCulture);
    }

    /// <summary>Kills what is in the session's control groups, as if it crashed while the platform was down.</summary>
    private static async Task KillSessionAsync(Guid id)
    {
        foreach (var parent in new[] { "/sys/fs/cgroup/memory/opensciserver-sessions", "/sys/fs/cgroup/opensciserver-sessions" }.Where(Directory.Exists))
        {
            foreach (var group in Directory.EnumerateDirectories(parent, "*-" + id.ToString("N") + "-*"))
            {
                foreach (var pid in File.ReadAllLines(Path.Combine(group, "cgroup.procs")))
                {
                    using var kill = System.Diagnostics.Process.Start("/bin/kill", ["-9", pid]);
                    await kill.WaitForExitAsync();
                }
            }
        }

        for (var i = 0; i < 100 && JupyterPort(id) != -1; i++)
        {
            await Task.Delay(50);
        }

        Assert.Equal(-1, JupyterPort(id));
    }
}
