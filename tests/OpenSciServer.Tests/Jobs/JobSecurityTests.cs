using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Jobs;

/// <summary>SECURITY.md "Sessions and jobs": what a job can and cannot do from inside.</summary>
public sealed class JobSecurityTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    [Fact]
    public async Task Job_RunsAsTheUsersUid_AndCannotReadPlatformData_ItsEnvironment_OrAnotherUsersVolume()
    {
        var (user, client) = await NewUserAsync();
        var (other, otherClient) = await NewUserAsync();
        await otherClient.GetAsync("/api/files/volumes");
        var secret = Path.Combine(platform.DataDirectory, "volumes", "Storage", other, "persistent", "secret.txt");
        await File.WriteAllTextAsync(secret, "other's secret");
        var pid = Environment.ProcessId;
        var id = await Jobs.SubmitAsync(client, Jobs.Command(string.Join('\n',
            "id -u",
            $"ls {platform.DataDirectory} >/dev/null 2>&1 && echo data-dir-visible || echo no-data-dir",
            $"cat /proc/{pid}/environ >/dev/null 2>&1 && echo environ-visible || echo no-environ",
            $"cat /home/idies/workspace/Storage/{other}/persistent/secret.txt 2>/dev/null || echo no-other-volume",
            "cat /etc/shadow >/dev/null 2>&1 && echo shadow-visible || echo no-shadow",
            "touch /usr/bin/planted 2>/dev/null && echo wrote-system || echo no-system-write")));

        var details = await Jobs.WaitAsync(client, id, "Success");

        var lines = Jobs.Stdout(details).Trim().Split('\n');
        Assert.NotEqual("0", lines[0]);
        Assert.Equal(["no-data-dir", "no-environ", "no-other-volume", "no-shadow", "no-system-write"], lines[1..]);
        // The files it wrote belong to that uid, not to root or to the platform.
        var stdout = Path.Combine(Jobs.Folder(platform.DataDirectory, details.GetProperty("job")), "stdout.txt");
        Assert.Equal(lines[0], (await RunAsync("/usr/bin/stat", "-c", "%u", stdout)).Trim());
    }

    [Fact]
    public async Task CommandText_WithSemicolonsSubstitutionsAndNewlines_RunsAsTheUsersScript_NeverInterpolated()
    {
        var (_, client) = await NewUserAsync();
        var marker = Guid.NewGuid().ToString("N")[..8];
        var command = $"echo 'a'; echo \"$(echo b)\"\necho c\necho \"'; touch /tmp/oss-pwned-{marker}; '\"\necho $0 $#";
        var id = await Jobs.SubmitAsync(client, Jobs.Command(command, name: $"\"; touch /tmp/oss-pwned-{marker}-name; \""));

        var details = await Jobs.WaitAsync(client, id, "Success");

        Assert.Equal($"a\nb\nc\n'; touch /tmp/oss-pwned-{marker}; '\ncommand.txt 0\n", Jobs.Stdout(details));
        Assert.False(File.Exists($"/tmp/oss-pwned-{marker}"));
        Assert.False(File.Exists($"/tmp/oss-pwned-{marker}-name"));
        Assert.Equal(command, await File.ReadAllTextAsync(Path.Combine(Jobs.Folder(platform.DataDirectory, details.GetProperty("job")), "command.txt")));
    }

    [Fact]
    public async Task ForkBombAndMemoryHog_AreContainedByTheDomainsLimits_AndThePlatformStaysResponsive()
    {
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        var domain = PlatformFactory.UniqueName("Tiny");
        var put = await admin.PutAsJsonAsync($"/api/admin/compute/domains/{domain}", new
        {
            backend = "Local", memoryBytes = 256L << 20, cpus = 0.5, maxProcesses = 64, maxSessionsPerUser = 1,
            idleTimeout = "01:00:00", lifetime = "01:00:00", maxLifetime = "02:00:00",
        });
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());

        var bomb = await Jobs.SubmitAsync(admin, Jobs.Command("bomb() { bomb | bomb & }; bomb; sleep 60", timeLimit: "4", domain: domain));
        var hog = await Jobs.SubmitAsync(admin, Jobs.Command("/usr/bin/python3 -c 'x = []\nwhile True: x.append(bytearray(32 << 20))'", timeLimit: "60", domain: domain));
        await Jobs.WaitAsync(admin, bomb, "Started");

        // While the bomb runs, the platform answers at once.
        var watch = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/health")).StatusCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"/health took {watch.Elapsed}");

        var bombDone = await Jobs.WaitAsync(admin, bomb, "Error", seconds: 60);
        var hogDone = await Jobs.WaitAsync(admin, hog, "Error", seconds: 60);

        Assert.Contains(bombDone.GetProperty("job").GetProperty("messages").EnumerateArray(), m => m.GetProperty("label").GetString() == "TIMEOUT");
        var hogJob = hogDone.GetProperty("job");
        Assert.NotEqual(0, hogJob.GetProperty("exitCode").GetInt32());
        Assert.Contains(hogJob.GetProperty("messages").EnumerateArray(), m => m.GetProperty("content").GetString()!.Contains("memory", StringComparison.OrdinalIgnoreCase)
            || m.GetProperty("content").GetString()!.Contains("exit code 137", StringComparison.Ordinal));
    }

    private static async Task<string> RunAsync(string program, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }

    private async Task<(string User, HttpClient Client)> NewUserAsync()
    {
        var user = PlatformFactory.UniqueName("sec");
        return (user, platform.CreateApiClient(await platform.CreateUserAsync(user)));
    }
}
