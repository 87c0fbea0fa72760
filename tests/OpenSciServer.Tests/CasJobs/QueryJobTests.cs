using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenSciServer.CasJobs.Jobs;
using OpenSciServer.Infrastructure;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>Long (queued) queries through the native API and SciServer's CasJobs routes, on both databases.</summary>
public abstract class QueryJobTests(PlatformFactory platform)
{
    /// <summary>Runs until canceled (10^12 rows); T-SQL, and it only reads.</summary>
    private const string EndlessRead = "SELECT sum(a.range * b.range) AS s FROM range(1000000000) a, range(1000) b";

    /// <summary>Runs until canceled and would write MyDB.</summary>
    private const string EndlessWrite = "SELECT sum(a.range * b.range) AS s INTO mydb.endless FROM range(1000000000) a, range(1000) b";

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Submit_SelectIntoMyDb_FinishesAndTheTableIsInMyDb()
    {
        using var client = await NewUserAsync();

        var job = await SubmitAsync(client, "Demo", "SELECT TOP 100 id, ra, dec INTO mydb.bright FROM erass_synthetic ORDER BY flux_05_2 DESC", "bright sources");
        var done = await WaitAsync(client, job.GetProperty("id").GetInt64(), j => Status(j) >= 3);
        var count = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "SELECT count(*) FROM bright" });

        Assert.Equal(0, Status(job));
        Assert.Equal("Ready", job.GetProperty("statusName").GetString());
        Assert.Equal(5, Status(done));
        Assert.Equal("Finished", done.GetProperty("statusName").GetString());
        Assert.Equal("bright", done.GetProperty("createdTable").GetString());
        Assert.Equal(100, done.GetProperty("rows").GetInt64());
        Assert.Equal("Demo", done.GetProperty("context").GetString());
        Assert.Equal("bright sources", done.GetProperty("taskName").GetString());
        Assert.Equal(JsonValueKind.Null, done.GetProperty("message").ValueKind);
        Assert.True(done.GetProperty("startedAt").GetDateTimeOffset() <= done.GetProperty("finishedAt").GetDateTimeOffset());
        Assert.Equal(100, (await count.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
    }

    [Fact]
    public async Task Statuses_MoveFromReadyToStartedToFinished()
    {
        using var client = await NewUserAsync();

        var job = await SubmitAsync(client, "MyDB", "CREATE TABLE mydb.squares AS SELECT range AS x, range * range AS x2 FROM range(500000)");
        var seen = new List<int> { Status(job) };
        var done = await WaitAsync(client, job.GetProperty("id").GetInt64(), j =>
        {
            seen.Add(Status(j));
            return Status(j) >= 3;
        });

        Assert.Equal([0, 1, 5], seen.Distinct());
        Assert.Equal("squares", done.GetProperty("createdTable").GetString());
        Assert.Equal(500_000, done.GetProperty("rows").GetInt64());
    }

    [Fact]
    public async Task FailingSql_Status4_WithTheEnginesMessage_AndNoTableLeft()
    {
        using var client = await NewUserAsync();

        var job = await SubmitAsync(client, "Demo", "SELECT id, no_such_column INTO mydb.broken FROM erass_synthetic");
        var done = await WaitAsync(client, job.GetProperty("id").GetInt64(), j => Status(j) >= 3);
        var tables = await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts/MyDB/tables");

        Assert.Equal(4, Status(done));
        Assert.Equal("Failed", done.GetProperty("statusName").GetString());
        Assert.Contains("no_such_column", done.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, done.GetProperty("createdTable").ValueKind);
        Assert.DoesNotContain(tables!, t => t.GetProperty("name").GetString() == "broken");
    }

    [Fact]
    public async Task Job_WithSeveralStatements_IsAllOrNothing()
    {
        using var client = await NewUserAsync();

        var job = await SubmitAsync(client, "MyDB", "SELECT 1 AS x INTO first_part; SELECT * INTO second_part FROM no_such_table");
        var done = await WaitAsync(client, job.GetProperty("id").GetInt64(), j => Status(j) >= 3);
        var tables = await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts/MyDB/tables");

        Assert.Equal(4, Status(done));
        Assert.Contains("no_such_table", done.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(tables!); // the first statement's table went with the failed transaction
    }

    [Fact]
    public async Task Cancel_RunningJob_IsCanceledWithinSeconds_AndItsWorkerIsGone()
    {
        using var client = await NewUserAsync();
        var id = (await SubmitAsync(client, "Demo", EndlessRead)).GetProperty("id").GetInt64();
        await WaitAsync(client, id, j => Status(j) == 1);
        var pid = await WorkerPidAsync(id);

        var clock = Stopwatch.StartNew();
        var cancel = await client.PostAsync($"/api/casjobs/jobs/{id}/cancel", null);
        var answer = await cancel.Content.ReadFromJsonAsync<JsonElement>();
        var done = await WaitAsync(client, id, j => Status(j) == 3, TimeSpan.FromSeconds(5));
        var took = clock.Elapsed;
        var gone = await EventuallyAsync(() => !QueryJobQueue.IsProcessAlive(pid), TimeSpan.FromSeconds(3));

        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Contains(Status(answer), new[] { 2, 3 });
        Assert.Equal("Canceled", done.GetProperty("statusName").GetString());
        Assert.True(took < TimeSpan.FromSeconds(3), $"cancel took {took}");
        Assert.True(gone, $"worker {pid} still runs");
    }

    [Fact]
    public async Task PerUserLimit_ThirdJobWaitsReady_UntilASlotFrees()
    {
        using var client = await NewUserAsync();
        var first = (await SubmitAsync(client, "Demo", EndlessRead)).GetProperty("id").GetInt64();
        var second = (await SubmitAsync(client, "Demo", EndlessRead)).GetProperty("id").GetInt64();
        await WaitAsync(client, first, j => Status(j) == 1);
        await WaitAsync(client, second, j => Status(j) == 1);

        var third = (await SubmitAsync(client, "Demo", EndlessRead)).GetProperty("id").GetInt64();
        var waiting = await client.GetFromJsonAsync<JsonElement>($"/api/casjobs/jobs/{third}");
        await client.PostAsync($"/api/casjobs/jobs/{first}/cancel", null);
        var startedAfter = await WaitAsync(client, third, j => Status(j) == 1);
        var canceled = await Task.WhenAll(new[] { second, third }.Select(async id =>
            (await (await client.PostAsync($"/api/casjobs/jobs/{id}/cancel", null)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64()));
        await WaitAsync(client, second, j => Status(j) == 3);
        await WaitAsync(client, third, j => Status(j) == 3);

        Assert.Equal(0, Status(waiting));
        Assert.Equal(1, Status(startedAfter));
        Assert.Equal([second, third], canceled);
    }

    [Fact]
    public async Task Cancel_QueuedJob_IsCanceledAtOnce()
    {
        using var client = await NewUserAsync();
        var writer = (await SubmitAsync(client, "Demo", EndlessWrite)).GetProperty("id").GetInt64();
        await WaitAsync(client, writer, j => Status(j) == 1);
        // A job that writes MyDB has it to itself: the next one waits.
        var queued = (await SubmitAsync(client, "MyDB", "CREATE TABLE t AS SELECT 1 AS x")).GetProperty("id").GetInt64();

        var cancel = await (await client.PostAsync($"/api/casjobs/jobs/{queued}/cancel", null)).Content.ReadFromJsonAsync<JsonElement>();
        await client.PostAsync($"/api/casjobs/jobs/{writer}/cancel", null);
        var writerDone = await WaitAsync(client, writer, j => Status(j) == 3);

        Assert.Equal(3, Status(cancel));
        Assert.Equal(JsonValueKind.Null, cancel.GetProperty("startedAt").ValueKind);
        Assert.Equal(3, Status(writerDone));
        Assert.DoesNotContain(await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts/MyDB/tables") ?? [], t => t.GetProperty("name").GetString() == "endless");
    }

    [Fact]
    public async Task History_IsNewestFirst_WithTop_AndRerunMakesANewJob()
    {
        using var client = await NewUserAsync();
        var ids = new List<long>();
        foreach (var n in new[] { 1, 2, 3 })
        {
            ids.Add((await SubmitAsync(client, "MyDB", $"SELECT {n} AS n", $"task {n}")).GetProperty("id").GetInt64());
        }

        var top2 = await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/jobs?top=2");
        var all = await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/jobs");
        var rerun = await client.PostAsync($"/api/casjobs/jobs/{ids[0]}/rerun", null);
        var again = await rerun.Content.ReadFromJsonAsync<JsonElement>();
        var done = await WaitAsync(client, again.GetProperty("id").GetInt64(), j => Status(j) >= 3);

        Assert.Equal([ids[2], ids[1]], top2!.Select(j => j.GetProperty("id").GetInt64()));
        Assert.Equal([ids[2], ids[1], ids[0]], all!.Select(j => j.GetProperty("id").GetInt64()));
        Assert.Equal(HttpStatusCode.Created, rerun.StatusCode);
        Assert.True(again.GetProperty("id").GetInt64() > ids[2]);
        Assert.Equal("SELECT 1 AS n", done.GetProperty("query").GetString());
        Assert.Equal("task 1", done.GetProperty("taskName").GetString());
        Assert.Equal(5, Status(done));
        Assert.Equal(1, done.GetProperty("rows").GetInt64());
    }

    [Fact]
    public async Task AnotherUser_CannotSeeCancelOrRerunYourJob()
    {
        using var alice = await NewUserAsync();
        using var bob = await NewUserAsync();
        var id = (await SubmitAsync(alice, "MyDB", "SELECT 42 AS answer")).GetProperty("id").GetInt64();

        var get = await bob.GetAsync($"/api/casjobs/jobs/{id}");
        var cancel = await bob.PostAsync($"/api/casjobs/jobs/{id}/cancel", null);
        var rerun = await bob.PostAsync($"/api/casjobs/jobs/{id}/rerun", null);
        var sciServer = await bob.GetAsync($"/CasJobs/RestApi/jobs/{id}");
        var list = await bob.GetFromJsonAsync<JsonElement[]>("/api/casjobs/jobs");

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, rerun.StatusCode);
        await SciServerAssert.ErrorAsync(sciServer, HttpStatusCode.NotFound, $"no job {id}");
        Assert.Empty(list!);
        Assert.Equal(5, Status(await WaitAsync(alice, id, j => Status(j) >= 3)));
    }

    [Theory]
    [InlineData("Demo", "", 400, "empty")]
    [InlineData("Demo", "SELECT TOP 10 PERCENT id FROM erass_synthetic", 400, "PERCENT")]
    [InlineData("NoSuchCatalog", "SELECT 1", 404, "There is no context 'NoSuchCatalog' that you can query.")]
    public async Task Submit_BadInput_IsRefusedBeforeQueueing(string context, string query, int status, string expected)
    {
        using var client = await NewUserAsync();

        var response = await client.PostAsJsonAsync("/api/casjobs/jobs", new { context, query });
        var history = await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/jobs");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains(expected, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(history!);
    }

    [Fact]
    public async Task Submit_HugeSql_AndABadTop_Return400()
    {
        using var client = await NewUserAsync();

        var huge = await client.PostAsJsonAsync("/api/casjobs/jobs", new { context = "Demo", query = "SELECT 1 -- " + new string('x', 2_000_000) });
        var top = await client.GetAsync("/api/casjobs/jobs?top=0");

        Assert.Equal(HttpStatusCode.BadRequest, huge.StatusCode);
        Assert.Contains("at most", await huge.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, top.StatusCode);
    }

    [Fact]
    public async Task SciScriptCalls_SubmitStatusListAndCancel()
    {
        using var client = await NewUserAsync();

        // CasJobs.submitJob: PUT with Accept text/plain, the JobID comes back as plain text.
        using var put = new HttpRequestMessage(HttpMethod.Put, "/CasJobs/RestApi/contexts/Demo/jobs?TaskName=SciScript-Python.CasJobs.submitJob")
        {
            Content = JsonContent.Create(new { Query = "SELECT TOP 7 id, ra INTO mydb.sci FROM erass_synthetic", TaskName = "SciScript-Python.CasJobs.submitJob" }),
        };
        put.Headers.Accept.ParseAdd("text/plain");
        var submitted = await client.SendAsync(put);
        var id = long.Parse(await submitted.Content.ReadAsStringAsync(), System.Globalization.CultureInfo.InvariantCulture);
        // CasJobs.waitForJob: GET until Status is 3, 4 or 5.
        var status = await PollSciServerAsync(client, id);
        var list = await client.GetFromJsonAsync<JsonElement[]>("/CasJobs/RestApi/jobs/");
        var cancel = await client.DeleteAsync($"/CasJobs/RestApi/jobs/{id}");

        Assert.Equal(HttpStatusCode.OK, submitted.StatusCode);
        Assert.Equal("text/plain", submitted.Content.Headers.ContentType?.MediaType);
        Assert.Equal(id, status.GetProperty("JobID").GetInt64());
        Assert.Equal(5, status.GetProperty("Status").GetInt32());
        Assert.Equal("Demo", status.GetProperty("Context").GetString());
        Assert.Equal("sci", status.GetProperty("Created_Table").GetString());
        Assert.Equal(7, status.GetProperty("Rows").GetInt64());
        var submit = DateTimeOffset.FromUnixTimeMilliseconds(status.GetProperty("TimeSubmit").GetInt64());
        Assert.True(Math.Abs((TimeProvider.System.GetUtcNow() - submit).TotalMinutes) < 5, $"TimeSubmit {submit} is epoch milliseconds of now");
        Assert.True(status.GetProperty("TimeEnd").GetInt64() >= status.GetProperty("TimeStart").GetInt64());
        Assert.Equal("SciScript-Python.CasJobs.submitJob", status.GetProperty("TaskName").GetString());
        Assert.Equal(id, Assert.Single(list!).GetProperty("JobID").GetInt64());
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
    }

    [Fact]
    public async Task SciServerSubmit_CreateTable_PutsTheSelectIntoThatTable()
    {
        using var client = await NewUserAsync();

        var put = await client.PutAsJsonAsync("/CasJobs/RestApi/contexts/Demo/jobs",
            new { Query = "SELECT TOP 5 [id], ra FROM erass_synthetic ORDER BY id", TaskName = "t", CreateTable = true, TableName = "first_five" });
        var id = long.Parse(await put.Content.ReadAsStringAsync(), System.Globalization.CultureInfo.InvariantCulture);
        var status = await PollSciServerAsync(client, id);
        var rows = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "SELECT id FROM first_five ORDER BY id" });
        var missingName = await client.PutAsJsonAsync("/CasJobs/RestApi/contexts/Demo/jobs", new { Query = "SELECT 1", CreateTable = "True" });

        Assert.Equal(5, status.GetProperty("Status").GetInt32());
        Assert.Equal("first_five", status.GetProperty("Created_Table").GetString());
        Assert.Contains("INTO mydb.[first_five]", status.GetProperty("Query").GetString(), StringComparison.Ordinal);
        Assert.Equal([1L, 2, 3, 4, 5], (await rows.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows").EnumerateArray().Select(r => r[0].GetInt64()));
        await SciServerAssert.ErrorAsync(missingName, HttpStatusCode.BadRequest, "TableName");
    }

    [Fact]
    public async Task QuickQueries_WhileALongQueryWritesMyDb_AnswerOrSayWhichJobHoldsIt()
    {
        using var client = await NewUserAsync();
        var id = (await SubmitAsync(client, "Demo", EndlessWrite)).GetProperty("id").GetInt64();
        await WaitAsync(client, id, j => Status(j) == 1);

        // Once the worker holds MyDB, a query in the MyDB context is told which job has it.
        HttpResponseMessage? busy = null;
        await EventuallyAsync(async () =>
        {
            busy = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "SELECT 1" });
            return busy.StatusCode == HttpStatusCode.BadRequest;
        }, Deadline);
        var catalog = await client.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query = "SELECT count(*) FROM erass_synthetic" });
        var namesMyDb = await client.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query = "SELECT TOP 1 id INTO mydb.meanwhile FROM erass_synthetic" });
        await client.PostAsync($"/api/casjobs/jobs/{id}/cancel", null);
        await WaitAsync(client, id, j => Status(j) == 3);

        Assert.Contains($"job {id}", await busy!.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, catalog.StatusCode);
        Assert.Equal(2000, (await catalog.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
        Assert.Equal(HttpStatusCode.BadRequest, namesMyDb.StatusCode);
        Assert.Contains($"Your MyDB is in use by a running long query (job {id})", await namesMyDb.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task QuickQueries_WhileALongQueryReadsMyDb_CanReadButNotWrite()
    {
        using var client = await NewUserAsync();
        await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "CREATE TABLE mine AS SELECT range AS x FROM range(3)" });
        var id = (await SubmitAsync(client, "MyDB", EndlessRead)).GetProperty("id").GetInt64();
        await WaitAsync(client, id, j => Status(j) == 1);

        HttpResponseMessage? write = null;
        var attempt = 0;
        await EventuallyAsync(async () =>
        {
            // A new name each time: an attempt before the job opened MyDB may have succeeded.
            write = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = $"CREATE TABLE other{++attempt} AS SELECT 1 AS x" });
            return write.StatusCode == HttpStatusCode.BadRequest;
        }, Deadline);
        var read = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "SELECT count(*) FROM mine" });
        await client.PostAsync($"/api/casjobs/jobs/{id}/cancel", null);
        await WaitAsync(client, id, j => Status(j) == 3);

        var writeBody = await write!.Content.ReadAsStringAsync();
        Assert.True(writeBody.Contains($"long query (job {id}) and can only be read", StringComparison.Ordinal), writeBody);
        Assert.Equal(3, (await read.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
    }

    private static int Status(JsonElement job) => job.GetProperty("status").GetInt32();

    private static async Task<JsonElement> SubmitAsync(HttpClient client, string context, string query, string? taskName = null)
    {
        var response = await client.PostAsJsonAsync("/api/casjobs/jobs", new { context, query, taskName });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Polls a job until the condition holds, or fails at the deadline with the last state seen.</summary>
    private static async Task<JsonElement> WaitAsync(HttpClient client, long id, Func<JsonElement, bool> condition, TimeSpan? deadline = null)
    {
        var clock = Stopwatch.StartNew();
        var limit = deadline ?? Deadline;
        while (true)
        {
            var job = await client.GetFromJsonAsync<JsonElement>($"/api/casjobs/jobs/{id}");
            if (condition(job))
            {
                return job;
            }

            Assert.True(clock.Elapsed < limit, $"job {id} did not get there in time: {job}");
            await Task.Delay(50);
        }
    }

    private static async Task<JsonElement> PollSciServerAsync(HttpClient client, long id)
    {
        var clock = Stopwatch.StartNew();
        var limit = Deadline;
        while (true)
        {
            var job = await client.GetFromJsonAsync<JsonElement>($"/CasJobs/RestApi/jobs/{id}?TaskName=SciScript-Python.CasJobs.getJobStatus");
            if (job.GetProperty("Status").GetInt32() is 3 or 4 or 5)
            {
                return job;
            }

            Assert.True(clock.Elapsed < limit, $"job {id} did not end in time: {job}");
            await Task.Delay(50);
        }
    }

    private static Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan deadline) => EventuallyAsync(() => Task.FromResult(condition()), deadline);

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        var limit = deadline;
        while (!await condition())
        {
            if (clock.Elapsed > limit)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    private async Task<int> WorkerPidAsync(long id)
    {
        var clock = Stopwatch.StartNew();
        var limit = Deadline;
        while (true)
        {
            await using var scope = platform.Services.CreateAsyncScope();
            var job = await scope.ServiceProvider.GetRequiredService<PlatformDbContext>().Set<QueryJob>().AsNoTracking().SingleAsync(j => j.Id == id);
            if (job.WorkerPid is { } pid)
            {
                return pid;
            }

            Assert.True(clock.Elapsed < limit, $"job {id} has no worker pid");
            await Task.Delay(50);
        }
    }

    private async Task<HttpClient> NewUserAsync() =>
        platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("j")));
}

/// <summary>A host with small long-query limits and one DuckDB thread per query (the test machine is small).</summary>
public class QueryJobPlatform(DatabaseKind database) : PlatformFactory(database)
{
    protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
    {
        Settings["CasJobs:LongQueriesPerUser"] = "2";
        Settings["CasJobs:LongQueriesTotal"] = "4";
        Settings["CasJobs:Threads"] = "1";
        base.ConfigureWebHost(builder);
    }
}

public sealed class QueryJobSqlitePlatform() : QueryJobPlatform(DatabaseKind.Sqlite);

public sealed class QueryJobPostgresPlatform() : QueryJobPlatform(DatabaseKind.Postgres);

public sealed class QueryJobSqliteTests(QueryJobSqlitePlatform platform) : QueryJobTests(platform), IClassFixture<QueryJobSqlitePlatform>;

public sealed class QueryJobPostgresTests(QueryJobPostgresPlatform platform) : QueryJobTests(platform), IClassFixture<QueryJobPostgresPlatform>;
