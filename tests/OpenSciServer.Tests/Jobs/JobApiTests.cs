using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Jobs;

/// <summary>Command jobs through the native API on the local sandbox, on both databases.</summary>
public abstract class JobApiTests(PlatformFactory platform)
{
    [Fact]
    public async Task Submit_CommandJob_RunsInItsOwnFolderAsTheUser_WithTokenAndJobsPath_AndSucceeds()
    {
        var (user, client) = await NewUserAsync();
        var id = await Jobs.SubmitAsync(client, Jobs.Command(
            "echo hello from $USER\nid -u\ncat /home/idies/jobs.path; echo\npwd\ncat /home/idies/keystone.token; echo\necho written > result.txt\necho to-stderr >&2"));

        var details = await Jobs.WaitAsync(client, id, "Success");

        var job = details.GetProperty("job");
        var lines = Jobs.Stdout(details).Split('\n');
        Assert.Equal($"hello from {user}", lines[0]);
        Assert.NotEqual("0", lines[1]);
        var directory = job.GetProperty("workingDirectory").GetString()!;
        Assert.StartsWith($"/home/idies/workspace/Temporary/{user}/jobs/{id}_", directory, StringComparison.Ordinal);
        Assert.Equal(directory, lines[2]);
        Assert.Equal(directory, lines[3]);
        Assert.Equal("to-stderr\n", Jobs.Stderr(details));
        Assert.Equal(32, job.GetProperty("statusCode").GetInt32());
        Assert.Equal(0, job.GetProperty("exitCode").GetInt32());
        var folder = Jobs.Folder(platform.DataDirectory, job);
        Assert.Equal("written\n", await File.ReadAllTextAsync(Path.Combine(folder, "result.txt")));
        Assert.Equal("0\n", await File.ReadAllTextAsync(Path.Combine(folder, "exitcode.txt")));
        Assert.StartsWith("echo hello from $USER", await File.ReadAllTextAsync(Path.Combine(folder, "command.txt")), StringComparison.Ordinal);

        // The job's token worked while it ran and is revoked now.
        Assert.StartsWith("oss_", lines[4], StringComparison.Ordinal);
        using var withJobToken = platform.CreateApiClient(lines[4]);
        Assert.Equal(HttpStatusCode.Unauthorized, (await withJobToken.GetAsync("/api/jobs")).StatusCode);
    }

    [Fact]
    public async Task Submit_FailingCommand_IsErrorWithItsExitCodeAndMessage()
    {
        var (_, client) = await NewUserAsync();
        var id = await Jobs.SubmitAsync(client, Jobs.Command("echo before; exit 3"));

        var details = await Jobs.WaitAsync(client, id, "Error");

        var job = details.GetProperty("job");
        Assert.Equal(3, job.GetProperty("exitCode").GetInt32());
        Assert.Equal(64, job.GetProperty("statusCode").GetInt32());
        Assert.Contains(job.GetProperty("messages").EnumerateArray(), m => m.GetProperty("label").GetString() == "ERROR" && m.GetProperty("content").GetString()!.Contains("exit code 3", StringComparison.Ordinal));
        Assert.Equal("before\n", Jobs.Stdout(details));
    }

    [Fact]
    public async Task Cancel_RunningJob_StopsItsProcesses_AndIsCanceled()
    {
        var (_, client) = await NewUserAsync();
        var marker = Random.Shared.Next(100000, 999999);
        var id = await Jobs.SubmitAsync(client, Jobs.Command($"echo started; sleep 120.{marker}"));
        await Jobs.WaitAsync(client, id, "Started");
        Assert.True(await EventuallyAsync(() => SleepRuns(marker)), "the job's sleep did not appear");

        var canceled = await client.PostAsync($"/api/jobs/{id}/cancel", null);

        Assert.Equal(HttpStatusCode.OK, canceled.StatusCode);
        var job = await canceled.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Canceled", job.GetProperty("status").GetString());
        Assert.Equal(128, job.GetProperty("statusCode").GetInt32());
        Assert.True(await EventuallyAsync(() => !SleepRuns(marker)), "the job's process still runs after the cancel");
        Assert.Contains(job.GetProperty("messages").EnumerateArray(), m => m.GetProperty("label").GetString() == "CANCEL");
    }

    [Fact]
    public async Task TimeLimit_Passed_StopsTheJob_AsErrorWithATimeoutMessage()
    {
        var (_, client) = await NewUserAsync();
        var id = await Jobs.SubmitAsync(client, Jobs.Command("echo waiting; sleep 60", timeLimit: "2"));

        var details = await Jobs.WaitAsync(client, id, "Error", seconds: 30);

        var job = details.GetProperty("job");
        Assert.Contains(job.GetProperty("messages").EnumerateArray(), m => m.GetProperty("label").GetString() == "TIMEOUT"
            && m.GetProperty("content").GetString()!.Contains("time limit of 2 second", StringComparison.Ordinal));
        Assert.Equal(2, job.GetProperty("timeLimit").GetString() switch { var t => (int)TimeSpan.Parse(t!, System.Globalization.CultureInfo.InvariantCulture).TotalSeconds });
    }

    [Fact]
    public async Task List_FiltersByStatusAndTop_AndResubmitMakesANewJobWithTheChanges()
    {
        var (_, client) = await NewUserAsync();
        var ok = await Jobs.SubmitAsync(client, Jobs.Command("echo one", name: "first"));
        var bad = await Jobs.SubmitAsync(client, Jobs.Command("exit 1"));
        await Jobs.WaitAsync(client, ok, "Success");
        await Jobs.WaitAsync(client, bad, "Error");

        var errors = await client.GetFromJsonAsync<JsonElement>("/api/jobs?status=error");
        var top = await client.GetFromJsonAsync<JsonElement>("/api/jobs?top=1");
        var open = await client.GetFromJsonAsync<JsonElement>("/api/jobs?open=true");
        Assert.Equal([bad], errors.EnumerateArray().Select(j => j.GetProperty("id").GetInt64()));
        Assert.Equal([bad], top.EnumerateArray().Select(j => j.GetProperty("id").GetInt64()));
        Assert.Empty(open.EnumerateArray());
        await Jobs.AssertProblemAsync(await client.GetAsync("/api/jobs?status=finishedish"), 400, "Unknown status");

        var again = await client.PostAsJsonAsync($"/api/jobs/{ok}/resubmit", new { command = "echo two" });
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        var copy = await again.Content.ReadFromJsonAsync<JsonElement>();
        var details = await Jobs.WaitAsync(client, copy.GetProperty("id").GetInt64(), "Success");
        Assert.Equal("echo two", details.GetProperty("job").GetProperty("command").GetString());
        Assert.Equal("first", details.GetProperty("job").GetProperty("name").GetString());
        Assert.Equal("two\n", Jobs.Stdout(details));
    }

    [Fact]
    public async Task Get_AJobThatPrintsMoreThanTheTail_ShowsTheBoundedEnd_WhileTheFileHoldsEverything()
    {
        var (_, client) = await NewUserAsync();
        // 8 MiB of output, then an end marker.
        var id = await Jobs.SubmitAsync(client, Jobs.Command("head -c 8388608 /dev/zero | tr '\\0' x; echo; echo THE-END"));

        var details = await Jobs.WaitAsync(client, id, "Success");

        var stdout = details.GetProperty("stdout");
        Assert.True(stdout.GetProperty("truncated").GetBoolean());
        Assert.Equal(8388608 + 9, stdout.GetProperty("size").GetInt64());
        Assert.True(stdout.GetProperty("text").GetString()!.Length <= 64 * 1024);
        Assert.EndsWith("THE-END\n", stdout.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal(8388608 + 9, new FileInfo(Path.Combine(Jobs.Folder(platform.DataDirectory, details.GetProperty("job")), "stdout.txt")).Length);
        var small = await client.GetFromJsonAsync<JsonElement>($"/api/jobs/{id}?tail=100");
        Assert.Equal(100, small.GetProperty("stdout").GetProperty("text").GetString()!.Length);
    }

    [Fact]
    public async Task Submit_InAWorkingDirectoryOfTheUsersPersistentVolume_RunsThere_AndOthersCannotSeeTheJob()
    {
        var (user, client) = await NewUserAsync();
        var (_, other) = await NewUserAsync();
        var dir = $"/home/idies/workspace/Storage/{user}/persistent/runs/first";
        var id = await Jobs.SubmitAsync(client, Jobs.Command("pwd; echo x > made-here.txt", workingDirectory: dir));

        var details = await Jobs.WaitAsync(client, id, "Success");

        Assert.Equal(dir + "\n", Jobs.Stdout(details));
        Assert.True(File.Exists(Path.Combine(platform.DataDirectory, "volumes", "Storage", user, "persistent", "runs", "first", "made-here.txt")));
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/api/jobs/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsync($"/api/jobs/{id}/cancel", null)).StatusCode);
    }

    [Fact]
    public async Task Home_CountsRunningJobsAndJobsCompletedIn24h()
    {
        var (_, client) = await NewUserAsync();
        var done = await Jobs.SubmitAsync(client, Jobs.Command("true"));
        await Jobs.WaitAsync(client, done, "Success");
        var running = await Jobs.SubmitAsync(client, Jobs.Command("sleep 30"));
        await Jobs.WaitAsync(client, running, "Started");

        using var scope = platform.Services.CreateScope();
        var counts = scope.ServiceProvider.GetServices<OpenSciServer.Infrastructure.IActivityCount>().ToDictionary(c => c.Key);
        var me = (await client.GetFromJsonAsync<JsonElement>("/api/account")).GetProperty("id").GetGuid();
        Assert.Equal(1, await counts["jobs-running"].CountAsync(me, CancellationToken.None));
        Assert.Equal(1, await counts["jobs-completed-24h"].CountAsync(me, CancellationToken.None));
        await client.PostAsync($"/api/jobs/{running}/cancel", null);
    }

    [Fact]
    public async Task Submit_BadInputs_Are4xxWithClearMessages_AndCreateNoJob()
    {
        var (user, client) = await NewUserAsync();
        var (other, _) = await NewUserAsync();
        var persistent = Path.Combine(platform.DataDirectory, "volumes", "Storage", user, "persistent");
        await client.GetAsync("/api/files/volumes"); // the default volumes exist from now on
        Directory.CreateDirectory(persistent);
        File.CreateSymbolicLink(Path.Combine(persistent, "link-to-etc"), "/etc");

        async Task Expect(object body, int status, string message) =>
            await Jobs.AssertProblemAsync(await client.PostAsJsonAsync("/api/jobs", body), status, message);

        await Expect(Jobs.Command("echo", domain: "Nowhere"), 404, "compute domain 'Nowhere'");
        await Expect(Jobs.Command("echo", image: "MATLAB R2099"), 404, "image 'MATLAB R2099'");
        await Expect(Jobs.Command("echo", dataVolumes: ["NoSuchData"]), 404, "NoSuchData");
        await Expect(Jobs.Command("echo", timeLimit: "soon"), 400, "timeLimit");
        await Expect(Jobs.Command("echo", timeLimit: "0"), 400, "timeLimit");
        await Expect(Jobs.Command("echo", timeLimit: "3650.00:00:00"), 400, "timeLimit is between 1 second and");
        await Expect(Jobs.Command("   "), 400, "command is empty");
        await Expect(Jobs.Command("echo", workingDirectory: "/etc"), 400, "workingDirectory");
        await Expect(Jobs.Command("echo", workingDirectory: $"/home/idies/workspace/Storage/{user}/persistent/../../{other}/persistent"), 400, "'..'");
        await Expect(Jobs.Command("echo", workingDirectory: $"/home/idies/workspace/Storage/{other}/persistent/x"), 403, "your own volumes");
        await Expect(Jobs.Command("echo", workingDirectory: $"/home/idies/workspace/Storage/{user}/persistent/link-to-etc/cron.d"), 400, "symbolic link");
        await Expect(Jobs.Command("echo", workingDirectory: "/home/idies/workspace/SomeDataVolume/out"), 403, "not a writable user volume");
        await Expect(new { kind = "notebook", notebookPath = "/etc/passwd.ipynb", domain = Jobs.Domain, image = Jobs.Image }, 400, "notebookPath");
        await Expect(new { kind = "notebook", notebookPath = $"/home/idies/workspace/Storage/{user}/persistent/missing.ipynb", domain = Jobs.Domain, image = Jobs.Image }, 404, "no notebook");
        await Expect(new { kind = "notebook", notebookPath = $"/home/idies/workspace/Storage/{other}/persistent/theirs.ipynb", domain = Jobs.Domain, image = Jobs.Image }, 404, "that you can reach");
        await Expect(new { kind = "shell", command = "echo", domain = Jobs.Domain, image = Jobs.Image }, 400, "command or notebook");

        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/api/jobs")).EnumerateArray());
    }

    [Fact]
    public async Task Submit_NotebookJob_ExecutesTheNotebookWithItsParameters_AndKeepsTheExecutedNotebookInTheJobDirectory()
    {
        var (user, client) = await NewUserAsync();
        await client.GetAsync("/api/files/volumes");
        var notebook = new
        {
            cells = new object[]
            {
                new { cell_type = "code", metadata = new { }, execution_count = (int?)null, outputs = Array.Empty<object>(),
                    source = "import os\nprint('param file:', open('parameters.txt').read())\nprint('param env:', os.environ['SCISERVER_JOB_PARAMETERS'])\nopen('from-notebook.txt', 'w').write('done')" },
            },
            metadata = new { kernelspec = new { name = "python3", display_name = "Python 3", language = "python" } },
            nbformat = 4,
            nbformat_minor = 5,
        };
        var upload = await client.PutAsync($"/fileservice/api/file/Storage/{user}/persistent/analysis.ipynb", JsonContent.Create(notebook));
        Assert.True(upload.IsSuccessStatusCode, await upload.Content.ReadAsStringAsync());

        var id = await Jobs.SubmitAsync(client, new
        {
            kind = "notebook",
            notebookPath = $"/home/idies/workspace/Storage/{user}/persistent/analysis.ipynb",
            parameters = "alpha=1; $(touch /tmp/never)",
            domain = Jobs.Domain,
            image = Jobs.Image,
        });
        var details = await Jobs.WaitAsync(client, id, "Success", seconds: 120);

        var folder = Jobs.Folder(platform.DataDirectory, details.GetProperty("job"));
        var executed = await File.ReadAllTextAsync(Path.Combine(folder, "analysis.ipynb"));
        Assert.Contains("param file: alpha=1; $(touch /tmp/never)", executed, StringComparison.Ordinal);
        Assert.Contains("param env: alpha=1; $(touch /tmp/never)", executed, StringComparison.Ordinal);
        Assert.Equal("alpha=1; $(touch /tmp/never)", await File.ReadAllTextAsync(Path.Combine(folder, "parameters.txt")));
        Assert.Equal("done", await File.ReadAllTextAsync(Path.Combine(folder, "from-notebook.txt")));
        // The original is untouched.
        Assert.DoesNotContain("param file: alpha", await File.ReadAllTextAsync(Path.Combine(platform.DataDirectory, "volumes", "Storage", user, "persistent", "analysis.ipynb")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jobm_SciScriptsCalls_ListDomains_SubmitPollListAndCancel()
    {
        var (user, client) = await NewUserAsync();
        var domains = await client.GetFromJsonAsync<JsonElement>("/racm/jobm/rest/computedomains?batch=true&interactive=false&TaskName=x");
        var domain = domains.EnumerateArray().Single(d => d.GetProperty("name").GetString() == "Local");
        Assert.Contains(domain.GetProperty("images").EnumerateArray(), i => i.GetProperty("name").GetString() == Jobs.Image);
        var persistent = domain.GetProperty("userVolumes").EnumerateArray().Single(v => v.GetProperty("name").GetString() == "persistent" && v.GetProperty("owner").GetString() == user);
        Assert.Equal($"/home/idies/workspace/Storage/{user}/persistent", persistent.GetProperty("fullPath").GetString());
        Assert.Contains("write", persistent.GetProperty("allowedActions").EnumerateArray().Select(a => a.GetString()));

        // As Jobs.submitShellCommandJob sends it.
        var submitted = await client.PostAsJsonAsync("/racm/jobm/rest/jobs/docker?TaskName=SciScript-Python.Jobs.submitShellCommandJob", new
        {
            command = "echo from-sciscript > out.txt; cat out.txt",
            submitterDID = "my alias",
            dockerComputeEndpoint = domain.GetProperty("apiEndpoint").GetString(),
            dockerImageName = Jobs.Image,
            volumeContainers = Array.Empty<object>(),
            userVolumes = new[] { new { userVolumeId = persistent.GetProperty("id").GetInt64(), needsWriteAccess = true } },
        });
        Assert.True(submitted.StatusCode == HttpStatusCode.OK, await submitted.Content.ReadAsStringAsync());
        var job = await submitted.Content.ReadFromJsonAsync<JsonElement>();
        var id = job.GetProperty("id").GetInt64();
        Assert.Equal("jobm.model.COMPMDockerJobModel", job.GetProperty("type").GetString());
        Assert.Equal("my alias", job.GetProperty("submitterDID").GetString());
        Assert.False(job.TryGetProperty("endTime", out _)); // nulls are left out

        for (var i = 0; i < 300 && job.GetProperty("status").GetInt32() < 32; i++)
        {
            await Task.Delay(100);
            job = await client.GetFromJsonAsync<JsonElement>($"/racm/jobm/rest/jobs/{id}?TaskName=x");
        }

        Assert.Equal(32, job.GetProperty("status").GetInt32());
        Assert.True(job.GetProperty("endTime").GetInt64() >= job.GetProperty("startTime").GetInt64());
        Assert.Equal(user, job.GetProperty("username").GetString());
        Assert.StartsWith($"/home/idies/workspace/Temporary/{user}/jobs/", job.GetProperty("resultsFolderURI").GetString(), StringComparison.Ordinal);
        Assert.Equal($"/home/idies/workspace/Storage/{user}/persistent", job.GetProperty("userVolumes")[0].GetProperty("fullPath").GetString());
        Assert.True(job.GetProperty("userVolumes")[0].GetProperty("needsWriteAccess").GetBoolean());

        var sleeping = await client.PostAsJsonAsync("/racm/jobm/rest/jobs/docker", new
        {
            command = "sleep 60",
            dockerComputeEndpoint = domain.GetProperty("apiEndpoint").GetString(),
            dockerImageName = Jobs.Image,
        });
        var sleepId = (await sleeping.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var open = await client.GetFromJsonAsync<JsonElement>("/racm/jobm/rest/jobs?open");
        Assert.Equal([sleepId], open.EnumerateArray().Select(j => j.GetProperty("id").GetInt64()));
        var top = await client.GetFromJsonAsync<JsonElement>("/racm/jobm/rest/dockerjobs?top=2&start=2000-01-01 00:00:00.000");
        Assert.Equal([sleepId, id], top.EnumerateArray().Select(j => j.GetProperty("id").GetInt64()));
        var canceled = await client.PostAsync($"/racm/jobm/rest/jobs/{sleepId}/cancel", null);
        Assert.Equal(128, (await canceled.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetInt32());

        // Errors in SciServer's shape.
        var bad = await client.PostAsJsonAsync("/racm/jobm/rest/jobs/docker", new { command = "echo", dockerComputeEndpoint = "nowhere", dockerImageName = Jobs.Image });
        Assert.Equal(HttpStatusCode.NotFound, bad.StatusCode);
        var error = await bad.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("error", error.GetProperty("status").GetString());
        Assert.Contains("computedomains", error.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/racm/jobm/rest/jobs/999999")).StatusCode);
    }

    internal static bool SleepRuns(int marker)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => Path.GetFileName(d).All(char.IsAsciiDigit)))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains($"120.{marker}", StringComparison.Ordinal))
                {
                    return true;
                }
            }
            catch (IOException)
            {
            }
        }

        return false;
    }

    internal static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100; i++)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    private async Task<(string User, HttpClient Client)> NewUserAsync()
    {
        var user = PlatformFactory.UniqueName("job");
        return (user, platform.CreateApiClient(await platform.CreateUserAsync(user)));
    }
}

public sealed class SqliteJobApiTests(SqlitePlatform platform) : JobApiTests(platform), IClassFixture<SqlitePlatform>;

public sealed class PostgresJobApiTests(PostgresPlatform platform) : JobApiTests(platform), IClassFixture<PostgresPlatform>;
