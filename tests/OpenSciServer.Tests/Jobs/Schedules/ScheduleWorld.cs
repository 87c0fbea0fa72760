using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenSciServer.Accounts;
using OpenSciServer.Infrastructure;
using OpenSciServer.Jobs;
using OpenSciServer.Jobs.Schedules;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Jobs.Schedules;

/// <summary>
/// A stand-in for the jobs service, for the tests of the scheduler's OWN decisions (when a run is due,
/// the overlap and catch-up policies, at-most-once firing across restarts): it records what schedules
/// submit, and the test decides each job's status, so that those decisions are tested without waiting
/// for real jobs. <see cref="ScheduleJobTests"/> and the browser journey run schedules with the real
/// JobService and local sandbox. Its checks are the few the tests need: the domain must be "Local"
/// (else 404, as an unknown domain would be), a command job needs its command.
/// </summary>
public sealed class RecordingJobSubmitter : IJobSubmitter
{
    private long _lastId = 1000;

    public sealed record Submission(long JobId, Caller Owner, JobSubmission Job, long? ScheduleId);

    public ConcurrentQueue<Submission> Submissions { get; } = new();

    public ConcurrentDictionary<long, JobStatus> Statuses { get; } = new();

    /// <summary>The status a new job has (Success: finished at once, so the overlap policy never applies).</summary>
    public JobStatus NewJobStatus { get; set; } = JobStatus.Success;

    /// <summary>When set, SubmitAsync hangs until cancelled (a platform stopped in the middle of a submission).</summary>
    public bool Hang { get; set; }

    public TaskCompletionSource HangStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<Submission> For(long scheduleId) => Submissions.Where(s => s.ScheduleId == scheduleId).ToList();

    public Task ValidateAsync(Caller owner, JobSubmission submission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        if (submission.Domain != "Local")
        {
            throw PlatformException.NotFound($"There is no compute domain '{submission.Domain}' that you may use (GET /api/compute/domains lists them).");
        }

        if (submission.Kind == JobKind.Command && string.IsNullOrWhiteSpace(submission.Command))
        {
            throw PlatformException.Invalid("A command job needs the command to run.");
        }

        return Task.CompletedTask;
    }

    public async Task<long> SubmitAsync(Caller owner, JobSubmission submission, long? scheduleId, CancellationToken cancellationToken)
    {
        await ValidateAsync(owner, submission, cancellationToken);
        if (Hang)
        {
            HangStarted.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        var id = Interlocked.Increment(ref _lastId);
        Statuses[id] = NewJobStatus;
        Submissions.Enqueue(new Submission(id, owner, submission, scheduleId));
        return id;
    }

    public Task<JobStatus?> GetStatusAsync(long jobId, CancellationToken cancellationToken) =>
        Task.FromResult(Statuses.TryGetValue(jobId, out var status) ? status : (JobStatus?)null);
}

/// <summary>A platform host with the stand-in jobs service and a fake clock; several may share one database in sequence.</summary>
public class ScheduleHost : PlatformFactory
{
    public ScheduleHost(DatabaseKind database, FakeTimeProvider time, RecordingJobSubmitter submitter, string? dataDirectory = null, string? postgres = null)
        : base(database, dataDirectory)
    {
        Time = time;
        Submitter = submitter;
        PostgresConnectionString = postgres;
    }

    public RecordingJobSubmitter Submitter { get; }

    /// <summary>Makes the scheduler look now (after the test moved the clock).</summary>
    public void Wake() => Services.GetRequiredService<ScheduleSignal>().Wake();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services => services.AddSingleton<IJobSubmitter>(Submitter));
    }
}

public sealed class SqliteScheduleHost() : ScheduleHost(DatabaseKind.Sqlite, new FakeTimeProvider(ScheduleWorld.Monday), new RecordingJobSubmitter());

public sealed class PostgresScheduleHost() : ScheduleHost(DatabaseKind.Postgres, new FakeTimeProvider(ScheduleWorld.Monday), new RecordingJobSubmitter());

public static class ScheduleWorld
{
    /// <summary>A Monday, 10:00:00 UTC: every-minute schedules first fire at 10:01.</summary>
    public static readonly DateTimeOffset Monday = new(2027, 1, 11, 10, 0, 0, TimeSpan.Zero);

    public static object Job(string command = "echo scheduled > out.txt", string domain = "Local") =>
        new { kind = "Command", command, domain, image = "Python 3 (astro)", userVolumes = Array.Empty<object>() };

    public static object Body(string name = "nightly", string cron = "* * * * *", string? timeZone = "UTC", string? overlap = null, string? catchUp = null, bool? enabled = null, object? job = null) =>
        new { name, cron, timeZone, overlap, catchUp, enabled, job = job ?? Job() };

    public static async Task<(string User, HttpClient Client)> NewUserAsync(PlatformFactory platform)
    {
        var user = PlatformFactory.UniqueName("cron");
        return (user, platform.CreateApiClient(await platform.CreateUserAsync(user)));
    }

    public static async Task<long> CreateAsync(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/api/jobs/schedules", body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    public static async Task<JsonElement> GetAsync(HttpClient client, long id)
    {
        var response = await client.GetAsync($"/api/jobs/schedules/{id}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>The history, oldest first, once it has <paramref name="count"/> entries (the scheduler works on its own thread).</summary>
    public static async Task<List<JsonElement>> HistoryAsync(HttpClient client, long id, int count)
    {
        List<JsonElement> history = [];
        for (var i = 0; i < 200; i++)
        {
            history = (await GetAsync(client, id)).GetProperty("history").EnumerateArray().Reverse().ToList();
            if (history.Count >= count && history.All(r => r.GetProperty("outcome").GetString() != "Submitting"))
            {
                return history;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"schedule {id}: expected {count} runs, history has {history.Count}: {string.Join(", ", history)}");
        return history;
    }

    public static DateTimeOffset Time(JsonElement e, string property) =>
        DateTimeOffset.Parse(e.GetProperty(property).GetString()!, CultureInfo.InvariantCulture);

    public static string Outcome(JsonElement run) => run.GetProperty("outcome").GetString()!;

    public static async Task AssertProblemAsync(HttpResponseMessage response, int status, string message)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Contains(message, body, StringComparison.Ordinal);
    }
}
