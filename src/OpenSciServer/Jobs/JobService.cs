using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.Compat;
using OpenSciServer.Compute;
using OpenSciServer.Compute.Backends;
using OpenSciServer.Files;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Jobs;

/// <summary>Which jobs a list shows.</summary>
/// <param name="Statuses">A mask of <see cref="JobStatus"/> flags; None: every status.</param>
/// <param name="Open">True: only unfinished jobs; false: only finished ones; null: both.</param>
public sealed record JobListQuery(JobStatus Statuses = JobStatus.None, int Top = 100, bool? Open = null, DateTimeOffset? From = null, DateTimeOffset? To = null);

/// <summary>
/// Compute jobs as their owners manage them: submit (checked at once, queued in the database), list,
/// look at with the end of their output, cancel, submit again with changes; and the steps the
/// <see cref="JobDispatcher"/> takes: start one (rights checked again, files prepared, token issued) and
/// finish one (token revoked, processes ended). Someone else's job answers 404, like one that does not exist.
/// </summary>
public sealed partial class JobService(
    PlatformDbContext db,
    ComputeCatalog catalog,
    VolumeService volumes,
    AccountService accounts,
    TokenService tokens,
    UnixAccounts unix,
    JobBackendRegistry backends,
    JobSignal signal,
    IServer server,
    IOptions<JobOptions> options,
    IOptions<ComputeOptions> compute,
    IOptions<PlatformOptions> platform,
    TimeProvider time,
    ILogger<JobService> logger) : IJobSubmitter
{
    public const int MaxNameLength = 128;
    public const int MaxCommandLength = 1_000_000;
    public const int MaxParametersLength = 100_000;
    public const int MaxPathLength = 1024;
    public const int MaxTop = 1000;

    /// <summary>The user volume the default job directories go into (Temporary/&lt;user&gt;/jobs in the default configuration).</summary>
    public const string JobsVolume = "jobs";

    private const long MaxNotebookBytes = 64L << 20;

    private static readonly TimeSpan TokenMargin = TimeSpan.FromMinutes(10);

    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    private DbSet<ComputeJob> Jobs => db.Set<ComputeJob>();

    public static readonly JobStatus Active = JobStatus.Queued | JobStatus.Accepted | JobStatus.Started;

    public Task ValidateAsync(Caller owner, JobSubmission submission, CancellationToken cancellationToken) =>
        CheckAsync(owner, submission, cancellationToken);

    public Task<long> SubmitAsync(Caller owner, JobSubmission submission, long? scheduleId, CancellationToken cancellationToken) =>
        SubmitAsync(owner, submission, scheduleId, requestBaseUrl: null, cancellationToken);

    public async Task<long> SubmitAsync(Caller owner, JobSubmission submission, long? scheduleId, string? requestBaseUrl, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var c = await CheckAsync(owner, submission, ct);
        var job = new ComputeJob
        {
            OwnerId = owner.UserId,
            OwnerName = owner.UserName,
            Name = c.Name,
            Kind = submission.Kind,
            // Browsers send a textarea's lines with CRLF; bash would take the CR as part of each command.
            Command = submission.Kind == JobKind.Command ? submission.Command!.Replace("\r\n", "\n", StringComparison.Ordinal) : null,
            NotebookPath = submission.Kind == JobKind.Notebook ? c.NotebookPath : null,
            Parameters = submission.Kind == JobKind.Notebook ? submission.Parameters ?? "" : null,
            DomainId = c.Domain.Id,
            ImageId = c.Image.Id,
            Status = JobStatus.Pending,
            TimeLimit = c.TimeLimit,
            WorkingDirectory = c.WorkingDirectory ?? c.DefaultParent!,
            ScheduleId = scheduleId,
            PlatformUrl = PlatformUrl(requestBaseUrl),
            SubmittedAt = time.GetUtcNow(),
            Volumes = c.Volumes.Select(JobVolume.From).ToList(),
        };
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            Jobs.Add(job);
            await db.SaveChangesAsync(ct);
            if (c.WorkingDirectory is null)
            {
                // A new folder of its own: the id makes it unique, the time makes it readable.
                job.WorkingDirectory = $"{c.DefaultParent}/{job.Id.ToString(CultureInfo.InvariantCulture)}_{job.SubmittedAt.UtcDateTime:yyyyMMdd-HHmmss}";
                await db.SaveChangesAsync(ct);
            }

            await tx.CommitAsync(ct);
        }

        LogSubmitted(logger, job.Id, owner.UserName, job.Kind);
        signal.Wake();
        return job.Id;
    }

    public async Task<JobStatus?> GetStatusAsync(long jobId, CancellationToken cancellationToken) =>
        await Jobs.AsNoTracking().Where(j => j.Id == jobId).Select(j => (JobStatus?)j.Status).FirstOrDefaultAsync(cancellationToken);

    public async Task<IReadOnlyList<ComputeJob>> ListAsync(Caller caller, JobListQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(query);
        var q = Jobs.AsNoTracking().Where(j => j.OwnerId == caller.UserId);
        if (query.Statuses != JobStatus.None)
        {
            var mask = query.Statuses;
            q = q.Where(j => (j.Status & mask) != 0);
        }

        if (query.Open is { } open)
        {
            q = open ? q.Where(j => j.Status < JobStatus.Success) : q.Where(j => j.Status >= JobStatus.Success);
        }

        if (query.From is { } from)
        {
            q = q.Where(j => j.SubmittedAt >= from);
        }

        if (query.To is { } to)
        {
            q = q.Where(j => j.SubmittedAt <= to);
        }

        return await q.Include(j => j.Domain).Include(j => j.Image).Include(j => j.Volumes).Include(j => j.Messages)
            .OrderByDescending(j => j.SubmittedAt).ThenByDescending(j => j.Id).Take(Math.Clamp(query.Top, 1, MaxTop))
            .AsSplitQuery().ToListAsync(ct);
    }

    public async Task<ComputeJob> GetAsync(Caller caller, long id, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return await Jobs.AsNoTracking().Include(j => j.Domain).Include(j => j.Image).Include(j => j.Volumes).Include(j => j.Messages)
            .AsSplitQuery().FirstOrDefaultAsync(j => j.Id == id && j.OwnerId == caller.UserId, ct)
            ?? throw PlatformException.NotFound($"There is no job {id} of yours.");
    }

    /// <summary>The end of the job's stdout and stderr, bounded by Jobs:OutputTailBytes (or less if asked).</summary>
    public (OutputTail Stdout, OutputTail Stderr) Output(ComputeJob job, int? maxBytes = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        var limit = Math.Clamp(maxBytes ?? options.Value.OutputTailBytes, 0, options.Value.OutputTailBytes);
        if (job.Status < JobStatus.Started && job.StartedAt is null)
        {
            return (new OutputTail("", 0, false), new OutputTail("", 0, false));
        }

        var dir = DirectoryOf(job);
        return (JobFiles.ReadTail(dir, JobFiles.Stdout, limit), JobFiles.ReadTail(dir, JobFiles.Stderr, limit));
    }

    public async Task<ComputeJob> CancelAsync(Caller caller, long id, CancellationToken ct)
    {
        var job = await GetAsync(caller, id, ct);
        if (job.IsFinal)
        {
            return job;
        }

        await FinishAsync(id, JobStatus.Canceled, null, JobMessageLabels.Cancel, "Canceled by you.", ct);
        return await GetAsync(caller, id, ct);
    }

    /// <summary>The user volumes a job mounts with their ids (JOBM names user volumes by id); null for a volume deleted since.</summary>
    public async Task<IReadOnlyList<(JobVolume Volume, long? Id)>> UserVolumeIdsAsync(ComputeJob job, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(job);
        var result = new List<(JobVolume, long?)>();
        foreach (var v in job.Volumes.Where(v => v.Kind == SessionVolumeKind.User))
        {
            var id = await db.Set<UserVolume>().AsNoTracking().Where(u => u.RootVolume == v.RootVolume && u.OwnerName == v.Owner && u.Name == v.Name)
                .Select(u => (long?)u.Id).FirstOrDefaultAsync(ct);
            result.Add((v, id));
        }

        return result;
    }

    /// <summary>The submission a job was made from (to submit it again, with changes).</summary>
    public static JobSubmission SubmissionOf(ComputeJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new JobSubmission(job.Kind, job.Command, job.NotebookPath, job.Parameters, job.Domain!.Name, job.Image!.Name,
            job.Volumes.Where(v => v.Kind == SessionVolumeKind.Data).Select(v => v.Name).ToList(),
            job.Volumes.Where(v => v.Kind == SessionVolumeKind.User).Select(v => new JobUserVolume(v.RootVolume!, v.Owner!, v.Name, v.Writable)).ToList(),
            job.TimeLimit, WorkingDirectory: null, job.Name);
    }

    /// <summary>
    /// Starts one attempt of a job (the dispatcher marked it ACCEPTED with this attempt): rechecks every
    /// right, prepares the job directory and a home with a token valid for the whole run, hands it to the
    /// backend. A refusal ends it as ERROR with the reason.
    /// </summary>
    public async Task LaunchAsync(long id, int attempt, CancellationToken ct)
    {
        var job = await Jobs.Include(j => j.Domain).Include(j => j.Image).Include(j => j.Volumes).AsSplitQuery()
            .FirstOrDefaultAsync(j => j.Id == id && j.Attempt == attempt && j.Status == JobStatus.Accepted, ct);
        if (job is null)
        {
            return;
        }

        var backend = backends.Find(job.Domain!.Backend);
        try
        {
            if (backend is null)
            {
                throw PlatformException.Invalid($"The domain's backend '{job.Domain.Backend}' does not run jobs on this platform.");
            }

            if (backend.Unavailable is { } why)
            {
                throw PlatformException.Invalid(why);
            }

            var user = await accounts.FindAsync(job.OwnerId, ct);
            var owner = new Caller(user.Id, user.UserName, user.IsAdmin);
            await catalog.DemandDomainAsync(owner, job.Domain.Name, ct);
            await catalog.DemandImageAsync(owner, job.Image!.Name, ct);
            var account = await unix.ForAsync(user.Id, user.UserName, ct);
            var dir = DirectoryOf(job);
            string? notebookName = null;
            using (var handle = dir.Open(create: true))
            {
                foreach (var stale in new[] { JobFiles.ExitCode, JobFiles.Stdout, JobFiles.Stderr })
                {
                    JobFiles.Remove(handle, stale);
                }

                if (job.Kind == JobKind.Command)
                {
                    JobFiles.WriteFile(handle, JobFiles.Command, Encoding.UTF8.GetBytes(job.Command ?? ""), account);
                }
                else
                {
                    notebookName = await CopyNotebookAsync(owner, job.NotebookPath!, handle, account, ct);
                    JobFiles.WriteFile(handle, JobFiles.Parameters, Encoding.UTF8.GetBytes(job.Parameters ?? ""), account);
                }
            }

            // Rights on every volume again (a share may have been revoked while the job waited); the user's
            // own volumes, the job directory's among them, are given to their uid.
            var mounts = await VolumeMounts.MountsAsync(volumes, owner, job.Volumes.Select(v => v.ToChoice()).ToList(), account, ct);
            var home = PrepareHome(job.Id, account);
            var now = time.GetUtcNow();
            var token = await tokens.IssueServiceTokenAsync(user.Id, $"compute job {job.Id.ToString(CultureInfo.InvariantCulture)}", now + job.TimeLimit + TokenMargin, ct);
            await Jobs.Where(j => j.Id == id).ExecuteUpdateAsync(u => u.SetProperty(j => j.PlatformTokenId, token.Info.Id).SetProperty(j => j.Uid, account.Uid), ct);
            SessionService.WriteUserFile(home, [], "keystone.token", token.Secret, account);
            SessionService.WriteUserFile(home, [], JobFiles.JobsPathFile, job.WorkingDirectory, account);
            var sciscript = JsonSerializer.Serialize(SciScriptConfig.For(job.PlatformUrl ?? PlatformUrl(null)), IndentedJson);
            SessionService.WriteUserFile(home, [".config", "sciserver"], "sciscript.json", sciscript, account);

            var environment = new Dictionary<string, string>
            {
                ["SCISERVER_JOB_ID"] = job.Id.ToString(CultureInfo.InvariantCulture),
                ["SCISERVER_JOB_DIRECTORY"] = job.WorkingDirectory,
            };
            IReadOnlyList<string> command;
            if (job.Kind == JobKind.Command)
            {
                command = ["/bin/bash", JobFiles.Command];
            }
            else
            {
                environment["SCISERVER_JOB_PARAMETERS"] = job.Parameters ?? "";
                command = ["/usr/bin/python3", "-m", "nbconvert", "--to", "notebook", "--execute", "--inplace", "--ExecutePreprocessor.timeout=-1", notebookName!];
            }

            var launch = new JobLaunch(job.Id, attempt, user.UserName, account.Uid, account.Gid, job.Domain, job.Image, mounts, home,
                dir, job.WorkingDirectory, JobFiles.Wrapped(command), environment, job.TimeLimit);
            var backendId = await backend.StartAsync(launch, ct);
            int started;
            try
            {
                var at = time.GetUtcNow();
                started = await Jobs.Where(j => j.Id == id && j.Attempt == attempt && j.Status == JobStatus.Accepted)
                    .ExecuteUpdateAsync(u => u.SetProperty(j => j.BackendId, backendId).SetProperty(j => j.Status, JobStatus.Started)
                        .SetProperty(j => j.StartedAt, at), ct);
            }
            catch
            {
                await backend.CancelAsync(id, backendId, CancellationToken.None);
                throw;
            }

            if (started == 0)
            {
                // Canceled while it started: nothing of this start may stay.
                await backend.CancelAsync(id, backendId, CancellationToken.None);
                await tokens.RevokeByIdAsync(token.Info.Id, CancellationToken.None);
                return;
            }

            await AddMessageAsync(id, JobMessageLabels.Status, $"Started as uid {account.Uid.ToString(CultureInfo.InvariantCulture)} on {backend.Name}.", ct);
            LogStarted(logger, id, job.OwnerName);
        }
        catch (Exception e) when (e is PlatformException or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            LogLaunchFailed(logger, id, e);
            db.ChangeTracker.Clear();
            var reason = e is PlatformException ? e.Message : $"It could not be started: {e.Message}";
            await FinishAsync(id, JobStatus.Error, null, JobMessageLabels.Error, reason, ct);
        }
    }

    /// <summary>
    /// Ends a job with its final status, once: the first to change the row wins (a cancel racing the end of
    /// the job, the time limit). Then its processes are ended, its token revoked and its home removed.
    /// </summary>
    /// <returns>Whether this call ended it.</returns>
    public async Task<bool> FinishAsync(long id, JobStatus status, int? exitCode, string label, string message, CancellationToken ct)
    {
        // The token goes first: once anyone sees the final status, the job's token no longer works.
        if (await Jobs.AsNoTracking().Where(j => j.Id == id && j.Status < JobStatus.Success).Select(j => j.PlatformTokenId).FirstOrDefaultAsync(ct) is { } tokenId)
        {
            await tokens.RevokeByIdAsync(tokenId, ct);
        }

        var now = time.GetUtcNow();
        // The status and its message together: whoever sees the final status sees why.
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            var changed = await Jobs.Where(j => j.Id == id && j.Status < JobStatus.Success)
                .ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, status).SetProperty(j => j.FinishedAt, now).SetProperty(j => j.ExitCode, exitCode)
                    .SetProperty(j => j.QueueReason, (string?)null), ct);
            if (changed == 0)
            {
                return false;
            }

            await AddMessageAsync(id, label, message, ct);
            await tx.CommitAsync(ct);
        }

        await CleanUpAsync(id, ct);
        LogFinished(logger, id, status, message);
        return true;
    }

    /// <summary>What a finished job leaves behind besides its directory: processes, token, home.</summary>
    public async Task CleanUpAsync(long id, CancellationToken ct)
    {
        var job = await Jobs.AsNoTracking().Include(j => j.Domain).FirstOrDefaultAsync(j => j.Id == id, ct);
        if (job is null)
        {
            return;
        }

        if (job.BackendId is { } backendId && backends.Find(job.Domain!.Backend) is { } backend)
        {
            await backend.CancelAsync(id, backendId, ct);
        }

        if (job.PlatformTokenId is { } tokenId)
        {
            await tokens.RevokeByIdAsync(tokenId, ct);
            await Jobs.Where(j => j.Id == id).ExecuteUpdateAsync(u => u.SetProperty(j => j.PlatformTokenId, (Guid?)null), ct);
        }

        var home = HomeFolder(id);
        if (Directory.Exists(home))
        {
            using var parent = NoFollow.OpenDirectory(Path.GetDirectoryName(home)!, []);
            NoFollow.DeleteTree(parent, Path.GetFileName(home));
        }
    }

    public async Task AddMessageAsync(long id, string label, string content, CancellationToken ct)
    {
        db.Set<JobMessage>().Add(new JobMessage { JobId = id, Label = label, Content = content.Length > 4000 ? content[..4000] : content, CreatedAt = time.GetUtcNow() });
        await db.SaveChangesAsync(ct);
    }

    /// <summary>The job directory on the machine, from the path as seen inside.</summary>
    public JobDirectory DirectoryOf(ComputeJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var names = InsideNames(job.WorkingDirectory, "workingDirectory");
        var root = volumes.Root(names[0]);
        return new JobDirectory(Path.Combine(volumes.RootPath(root), names[1], names[2]), names.Skip(3).ToList());
    }

    /// <summary>The job directory as the Files page and the file service name it (Temporary/alice/jobs/12_...).</summary>
    public static string FilesPath(ComputeJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return job.WorkingDirectory.StartsWith(Sandbox.Workspace + "/", StringComparison.Ordinal) ? job.WorkingDirectory[(Sandbox.Workspace.Length + 1)..] : job.WorkingDirectory;
    }

    /// <summary>The job's home on the machine (/home/idies inside): token, jobs.path, SciScript's configuration. Removed at the end.</summary>
    public string HomeFolder(long id) => Path.Combine(platform.Value.DataPath, "compute", "job-homes", id.ToString(CultureInfo.InvariantCulture));

    private string PrepareHome(long id, UnixAccount account)
    {
        var homes = Path.Combine(platform.Value.DataPath, "compute", "job-homes");
        Directory.CreateDirectory(homes);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(homes, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        using (var home = NoFollow.OpenDirectory(homes, [id.ToString(CultureInfo.InvariantCulture)], create: true, mode: UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute))
        {
            JobFiles.Chown(home, account);
        }

        return HomeFolder(id);
    }

    private async Task<string> CopyNotebookAsync(Caller owner, string notebookPath, Microsoft.Win32.SafeHandles.SafeFileHandle target, UnixAccount account, CancellationToken ct)
    {
        var names = InsideNames(notebookPath, "notebookPath");
        var location = await volumes.ResolveAsync(owner, string.Join('/', names), ResourceActions.Read, ct);
        using var folder = NoFollow.OpenDirectory(location.VolumeFolder, location.ParentNames);
        await using var source = NoFollow.OpenRead(folder, location.Name!);
        if (source.Length > MaxNotebookBytes)
        {
            throw PlatformException.Invalid($"The notebook is larger than {MaxNotebookBytes >> 20} MiB.", "notebookPath");
        }

        var content = new byte[source.Length];
        await source.ReadExactlyAsync(content, ct);
        JobFiles.WriteFile(target, location.Name!, content, account);
        return location.Name!;
    }

    private sealed record Checked(ComputeDomain Domain, ComputeImage Image, List<SessionVolume> Volumes, TimeSpan TimeLimit, string? WorkingDirectory,
        string? DefaultParent, string? NotebookPath, string? Name);

    /// <summary>Every input and right of a submission, before anything is written.</summary>
    private async Task<Checked> CheckAsync(Caller owner, JobSubmission s, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(s);
        var name = string.IsNullOrWhiteSpace(s.Name) ? null : s.Name.Trim();
        if (name is not null && (name.Length > MaxNameLength || name.Any(char.IsControl)))
        {
            throw PlatformException.Invalid($"A job name (alias) is at most {MaxNameLength} characters, on one line.", "name");
        }

        if (!Enum.IsDefined(s.Kind))
        {
            throw PlatformException.Invalid("kind is command or notebook.", "kind");
        }

        if (s.Kind == JobKind.Command)
        {
            if (string.IsNullOrWhiteSpace(s.Command))
            {
                throw PlatformException.Invalid("command is empty: give the shell script the job runs.", "command");
            }

            if (s.Command.Length > MaxCommandLength || s.Command.Contains('\0', StringComparison.Ordinal))
            {
                throw PlatformException.Invalid($"command is at most {MaxCommandLength} characters of text (no NUL).", "command");
            }
        }
        else if (s.Parameters is { } p && (p.Length > MaxParametersLength || p.Contains('\0', StringComparison.Ordinal)))
        {
            throw PlatformException.Invalid($"parameters is at most {MaxParametersLength} characters of text (no NUL).", "parameters");
        }

        var domain = await catalog.DemandDomainAsync(owner, s.Domain, ct);
        var image = await catalog.DemandImageAsync(owner, s.Image, ct);
        var chosen = await VolumeMounts.CheckAsync(volumes, owner, s.DataVolumes,
            s.UserVolumes?.Select(v => v is null ? null! : new UserVolumeChoice(v.RootVolume, v.Owner, v.Name, v.Writable)).ToList(), ct);

        var limit = s.TimeLimit ?? domain.Lifetime;
        if (limit < TimeSpan.FromSeconds(1) || limit > domain.MaxLifetime)
        {
            throw PlatformException.Invalid(
                $"timeLimit is between 1 second and {SessionService.Describe(domain.MaxLifetime)} for jobs in '{domain.Name}'.", "timeLimit");
        }

        string? notebook = null;
        if (s.Kind == JobKind.Notebook)
        {
            notebook = await CheckNotebookAsync(owner, s.NotebookPath, chosen, ct);
        }

        string? working = null;
        string? defaultParent = null;
        if (string.IsNullOrWhiteSpace(s.WorkingDirectory))
        {
            var root = volumes.Roots.FirstOrDefault(r => r.DefaultUserVolumes.Contains(JobsVolume, StringComparer.Ordinal))
                ?? throw PlatformException.Invalid("This platform has no jobs volume for default job directories; name a workingDirectory in one of your volumes.", "workingDirectory");
            var location = await volumes.ResolveAsync(owner, $"{root.Name}/{owner.UserName}/{JobsVolume}", ResourceActions.Write, ct);
            AddMount(chosen, location.UserVolume!, writable: true);
            defaultParent = $"{Sandbox.Workspace}/{root.Name}/{owner.UserName}/{JobsVolume}";
        }
        else
        {
            working = await CheckWorkingDirectoryAsync(owner, s.WorkingDirectory, chosen, ct);
        }

        return new Checked(domain, image, chosen, limit, working, defaultParent, notebook, name);
    }

    private async Task<string> CheckWorkingDirectoryAsync(Caller owner, string path, List<SessionVolume> chosen, CancellationToken ct)
    {
        const string Rule = "workingDirectory is a folder in one of your own volumes, e.g. /home/idies/workspace/Storage/<you>/persistent/myrun (or leave it empty for a new folder in Temporary/<you>/jobs).";
        var names = InsideNames(path, "workingDirectory", Rule);
        if (!volumes.Roots.Any(r => r.Name == names[0]))
        {
            // A data volume, or anything else: never writable by jobs.
            throw PlatformException.Forbidden($"'{names[0]}' is not a writable user volume. {Rule}");
        }

        if (names.Count < 3)
        {
            throw PlatformException.Invalid(Rule, "workingDirectory");
        }

        if (names[1] != owner.UserName)
        {
            throw PlatformException.Forbidden($"A job's working directory must be in one of your own volumes, not in {names[1]}'s. {Rule}");
        }

        var location = await volumes.ResolveAsync(owner, string.Join('/', names), ResourceActions.Write, ct);
        // Every part that exists must be a real folder: a link could lead the job's files anywhere.
        var handle = NoFollow.OpenDirectory(location.VolumeFolder, []);
        try
        {
            foreach (var part in location.Names)
            {
                var kind = NoFollow.KindOf(handle, part);
                if (kind == EntryKind.Missing)
                {
                    break;
                }

                if (kind != EntryKind.Directory)
                {
                    throw PlatformException.Invalid(kind == EntryKind.Link
                        ? $"The working directory goes through '{part}', a symbolic link; name the real folder."
                        : $"'{part}' in the working directory is a file, not a folder.", "workingDirectory");
                }

                var next = NoFollow.OpenDirectory(NoFollow.PathOf(handle), [part]);
                handle.Dispose();
                handle = next;
            }
        }
        finally
        {
            handle.Dispose();
        }

        AddMount(chosen, location.UserVolume!, writable: true);
        return $"{Sandbox.Workspace}/{string.Join('/', names)}";
    }

    private async Task<string> CheckNotebookAsync(Caller owner, string? path, List<SessionVolume> chosen, CancellationToken ct)
    {
        const string Rule = "notebookPath is a .ipynb file in one of your volumes (or one shared with you), as seen inside, e.g. /home/idies/workspace/Storage/<you>/persistent/analysis.ipynb.";
        if (string.IsNullOrWhiteSpace(path) || !path.EndsWith(".ipynb", StringComparison.OrdinalIgnoreCase))
        {
            throw PlatformException.Invalid(Rule, "notebookPath");
        }

        var names = InsideNames(path, "notebookPath", Rule);
        if (!volumes.Roots.Any(r => r.Name == names[0]) || names.Count < 4)
        {
            throw PlatformException.Invalid(Rule, "notebookPath");
        }

        var location = await volumes.ResolveAsync(owner, string.Join('/', names), ResourceActions.Read, ct);
        using (var folder = NoFollow.OpenDirectory(location.VolumeFolder, location.ParentNames))
        {
            var kind = NoFollow.KindOf(folder, location.Name!);
            if (kind != EntryKind.File)
            {
                throw kind == EntryKind.Missing
                    ? PlatformException.NotFound($"There is no notebook '{path}'.")
                    : PlatformException.Invalid($"'{path}' is not a notebook file{(kind == EntryKind.Link ? " (it is a symbolic link)" : "")}.", "notebookPath");
            }
        }

        AddMount(chosen, location.UserVolume!, writable: false);
        return $"{Sandbox.Workspace}/{string.Join('/', names)}";
    }

    private static void AddMount(List<SessionVolume> chosen, UserVolume volume, bool writable)
    {
        var existing = chosen.FirstOrDefault(v => v.Kind == SessionVolumeKind.User && v.RootVolume == volume.RootVolume && v.Owner == volume.OwnerName && v.Name == volume.Name);
        if (existing is null)
        {
            chosen.Add(new SessionVolume { Kind = SessionVolumeKind.User, RootVolume = volume.RootVolume, Owner = volume.OwnerName, Name = volume.Name, Writable = writable });
        }
        else if (writable)
        {
            existing.Writable = true;
        }
    }

    /// <summary>The names after /home/idies/workspace/ of a path as seen inside; anything else (/etc, .., //) is refused.</summary>
    private static List<string> InsideNames(string path, string field, string? rule = null)
    {
        var prefix = Sandbox.Workspace + "/";
        var message = rule ?? $"{field} is a path inside {Sandbox.Workspace}/.";
        if (path.Length > MaxPathLength || !path.StartsWith(prefix, StringComparison.Ordinal) || path.Any(char.IsControl))
        {
            throw PlatformException.Invalid(message, field);
        }

        var names = path[prefix.Length..].TrimEnd('/').Split('/');
        if (names.Any(n => n.Length == 0 || n == "." || n == ".."))
        {
            throw PlatformException.Invalid($"{field} may not contain empty, '.' or '..' parts. {message}", field);
        }

        return names.ToList();
    }

    private string PlatformUrl(string? requestBaseUrl)
    {
        var configured = compute.Value.PlatformUrl;
        if (string.IsNullOrWhiteSpace(configured))
        {
            configured = platform.Value.PublicBaseUrl;
        }

        if (string.IsNullOrWhiteSpace(configured))
        {
            configured = requestBaseUrl;
        }

        if (string.IsNullOrWhiteSpace(configured))
        {
            // A schedule's run has no request: the server's own address, as the job on this machine reaches it.
            var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://127.0.0.1";
            configured = address.Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal).Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal)
                .Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal);
        }

        return configured.TrimEnd('/');
    }

    [LoggerMessage(1610, LogLevel.Information, "Job {JobId} ({Kind}) submitted by {UserName}")]
    private static partial void LogSubmitted(ILogger logger, long jobId, string userName, JobKind kind);

    [LoggerMessage(1611, LogLevel.Information, "Job {JobId} of {UserName} started")]
    private static partial void LogStarted(ILogger logger, long jobId, string userName);

    [LoggerMessage(1612, LogLevel.Information, "Job {JobId} ended as {Status}: {Message}")]
    private static partial void LogFinished(ILogger logger, long jobId, JobStatus status, string message);

    [LoggerMessage(1613, LogLevel.Warning, "Job {JobId} could not be started")]
    private static partial void LogLaunchFailed(ILogger logger, long jobId, Exception exception);
}
