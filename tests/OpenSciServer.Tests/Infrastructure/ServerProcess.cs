using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;

namespace OpenSciServer.Tests.Infrastructure;

/// <summary>
/// The platform as a real, separate process (the same build the tests reference), for tests that kill
/// it with SIGKILL and start it again on the same data directory.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private Process? _process;

    public ServerProcess(string dataDirectory)
    {
        DataDirectory = dataDirectory;
        Port = TestPorts.Free();
    }

    public string DataDirectory { get; }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    /// <summary>Further configuration ("Section:Key" → value), passed as environment variables at each start.</summary>
    public Dictionary<string, string> Settings { get; } = [];

    public async Task StartAsync()
    {
        var psi = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "OpenSciServer.dll"), "--urls", BaseAddress.ToString(), "--contentRoot", AppContext.BaseDirectory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        psi.Environment["OPENSCISERVER_DATA"] = DataDirectory;
        psi.Environment["OPENSCISERVER_ADMIN_PASSWORD"] = PlatformFactory.AdminPassword;
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        psi.Environment["CasJobs__DemoRows"] = "2000";
        foreach (var (key, value) in Settings)
        {
            psi.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the server");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        for (var i = 0; i < 150; i++)
        {
            try
            {
                if ((await client.GetAsync("/health")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Not answering yet.
            }

            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the server exited with {_process.ExitCode}");
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("the server did not answer /health within 30 s");
    }

    /// <summary>SIGKILL: no shutdown code runs, exactly like a crash or the OOM killer.</summary>
    /// <param name="entireProcessTree">False kills the server alone: its children (query workers) live on as orphans.</param>
    public async Task KillAsync(bool entireProcessTree = true)
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree);
            await p.WaitForExitAsync();
        }
    }

    /// <summary>The server process's resident memory, from /proc.</summary>
    public long ResidentBytes()
    {
        if (_process is not { HasExited: false } p)
        {
            return 0;
        }

        var line = File.ReadLines($"/proc/{p.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    public async Task<HttpClient> ClientAsync(string username, string password)
    {
        using var anonymous = new HttpClient { BaseAddress = BaseAddress };
        var login = await anonymous.PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body(username, password));
        login.EnsureSuccessStatusCode();
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
        client.DefaultRequestHeaders.Add("X-Auth-Token", login.Headers.GetValues("X-Subject-Token").Single());
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }
}
