using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Jobs;

public static class JobsSetup
{
    public static void AddJobs(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<JobOptions>().BindConfiguration(JobOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IJobBackend, LocalJobBackend>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IJobBackend, SlurmJobBackend>());
        builder.Services.AddSingleton<JobBackendRegistry>();
        builder.Services.AddSingleton<JobSignal>();
        builder.Services.AddScoped<JobService>();
        builder.Services.AddScoped<IJobSubmitter>(sp => sp.GetRequiredService<JobService>());
        builder.Services.AddHostedService<JobDispatcher>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Scoped<IActivityCount, RunningJobCount>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Scoped<IActivityCount, CompletedJobCount>());
    }

    /// <summary>The native API and SciServer's JOBM routes.</summary>
    public static void MapJobs(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapJobEndpoints();
        Compat.JobmEndpoints.MapJobmEndpoints(app);
    }

    private sealed class RunningJobCount(PlatformDbContext db) : IActivityCount
    {
        public string Key => ActivityKeys.JobsRunning;

        public Task<int> CountAsync(Guid userId, CancellationToken cancellationToken) =>
            db.Set<ComputeJob>().CountAsync(j => j.OwnerId == userId && (j.Status == JobStatus.Queued || j.Status == JobStatus.Accepted || j.Status == JobStatus.Started), cancellationToken);
    }

    private sealed class CompletedJobCount(PlatformDbContext db, TimeProvider time) : IActivityCount
    {
        public string Key => ActivityKeys.JobsCompleted24h;

        public Task<int> CountAsync(Guid userId, CancellationToken cancellationToken)
        {
            var since = time.GetUtcNow() - TimeSpan.FromHours(24);
            return db.Set<ComputeJob>().CountAsync(j => j.OwnerId == userId && j.Status >= JobStatus.Success && j.FinishedAt >= since, cancellationToken);
        }
    }
}
