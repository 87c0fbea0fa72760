using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OpenSciServer.Compat;

namespace OpenSciServer.Tests.Infrastructure;

public enum DatabaseKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// The platform host for a test: its own temp data directory, a real SQLite file or a fresh database
/// on the private PostgreSQL cluster, and the admin password known to the test.
/// </summary>
public class PlatformFactory : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const string AdminPassword = "admin-password-for-tests";

    /// <summary>Test requests may claim a client address with this header (test host only).</summary>
    public const string ClientAddressHeader = "X-Test-Client-Address";

    private readonly bool _ownsDataDirectory;

    public PlatformFactory(DatabaseKind database = DatabaseKind.Sqlite, string? dataDirectory = null)
    {
        Database = database;
        _ownsDataDirectory = dataDirectory is null;
        DataDirectory = dataDirectory ?? Path.Combine(Path.GetTempPath(), "oss-test-" + Guid.NewGuid().ToString("N")[..12]);
    }

    public DatabaseKind Database { get; }

    public string DataDirectory { get; }

    /// <summary>Configuration on top of the defaults, e.g. ["Accounts:Registration"] = "Approval".</summary>
    public Dictionary<string, string?> Settings { get; } = new(StringComparer.Ordinal);

    /// <summary>Set before the host starts to control time.</summary>
    public FakeTimeProvider? Time { get; set; }

    /// <summary>Everything the platform logged, for checks that secrets never reach the logs.</summary>
    public ConcurrentQueue<string> LogLines { get; } = new();

    public string? PostgresConnectionString { get; set; }

    /// <summary>Serve on a real loopback port (for the browser) instead of the in-memory test server.</summary>
    public int? KestrelPort { get; set; }

    public virtual async Task InitializeAsync()
    {
        if (Database == DatabaseKind.Postgres && PostgresConnectionString is null)
        {
            PostgresConnectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        }

        // Start the host now, so migrations and seeding are done before the first test.
        if (KestrelPort is { } port)
        {
            UseKestrel(port);
            StartServer();
        }
        else
        {
            _ = Server;
        }
    }

    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        GC.SuppressFinalize(this);
        if (_ownsDataDirectory && Directory.Exists(DataDirectory))
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open by a finishing request; the temp folder is cleaned by the OS.
            }
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        // Serve wwwroot and the npm assets from the build output, as a published app would.
        builder.UseStaticWebAssets();
        builder.UseSetting("Platform:DataDirectory", DataDirectory);
        builder.UseSetting("OPENSCISERVER_ADMIN_PASSWORD", AdminPassword);
        builder.UseSetting("Accounts:MaxFailuresPerAddress", "1000");
        // A small demo catalogue keeps every test host's first start quick.
        builder.UseSetting("CasJobs:DemoRows", "2000");
        if (Database == DatabaseKind.Postgres)
        {
            builder.UseSetting("Database:Provider", "PostgreSQL");
            builder.UseSetting("ConnectionStrings:Platform", PostgresConnectionString);
        }

        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.AddProvider(new CapturingLoggerProvider(LogLines)));
        builder.ConfigureTestServices(services =>
        {
            if (Time is not null)
            {
                services.RemoveAll<TimeProvider>();
                services.AddSingleton<TimeProvider>(Time);
            }

            services.AddSingleton<IStartupFilter, TestClientAddressFilter>();
        });
    }

    /// <summary>A client that keeps no cookies and sends the token (if any) in X-Auth-Token.</summary>
    public HttpClient CreateApiClient(string? token = null, string? clientAddress = null)
    {
        var options = new WebApplicationFactoryClientOptions { HandleCookies = false, AllowAutoRedirect = false };
        if (KestrelPort is { } port)
        {
            // On a real port the client talks HTTP to it.
            options.BaseAddress = new Uri($"http://127.0.0.1:{port}");
        }

        var client = CreateClient(options);
        if (token is not null)
        {
            client.DefaultRequestHeaders.Add("X-Auth-Token", token);
        }

        if (clientAddress is not null)
        {
            client.DefaultRequestHeaders.Add(ClientAddressHeader, clientAddress);
        }

        return client;
    }

    /// <summary>Logs in through the Keystone route and returns the token.</summary>
    public async Task<string> LoginAsync(string username, string password)
    {
        using var client = CreateApiClient();
        var response = await client.PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body(username, password));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"login as {username}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return response.Headers.GetValues(KeystoneEndpoints.SubjectTokenHeader).Single();
    }

    public Task<string> LoginAdminAsync() => LoginAsync("admin", AdminPassword);

    /// <summary>Creates an active user through the admin API; returns a token for it.</summary>
    public async Task<string> CreateUserAsync(string username, string password = "a-good-long-password")
    {
        using var admin = CreateApiClient(await LoginAdminAsync());
        var response = await admin.PostAsJsonAsync("/api/admin/users", new { username, email = $"{username}@example.org", password });
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"create {username}: {await response.Content.ReadAsStringAsync()}");
        return await LoginAsync(username, password);
    }

    public static string UniqueName(string prefix = "u") => prefix + Guid.NewGuid().ToString("N")[..10];

    private sealed class TestClientAddressFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((ctx, nextMiddleware) =>
            {
                if (ctx.Request.Headers.TryGetValue(ClientAddressHeader, out var address) && IPAddress.TryParse(address, out var ip))
                {
                    ctx.Connection.RemoteIpAddress = ip;
                }

                return nextMiddleware(ctx);
            });
            next(app);
        };
    }
}

public static class Keystone
{
    public static object Body(string username, string password) =>
        new { auth = new { identity = new { password = new { user = new { name = username, password } } } } };
}

/// <summary>The SQLite host shared by one test class.</summary>
public sealed class SqlitePlatform : PlatformFactory
{
    public SqlitePlatform()
        : base(DatabaseKind.Sqlite)
    {
    }
}

/// <summary>The PostgreSQL host shared by one test class.</summary>
public sealed class PostgresPlatform : PlatformFactory
{
    public PostgresPlatform()
        : base(DatabaseKind.Postgres)
    {
    }
}

internal sealed class CapturingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel} {category}: {formatter(state, exception)} {exception}";
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                line += " " + string.Join(' ', pairs.Select(p => $"{p.Key}={p.Value}"));
            }

            lines.Enqueue(line);
        }
    }
}
