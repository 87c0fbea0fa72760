using OpenSciServer.CasJobs.Engines;

namespace OpenSciServer.CasJobs;

public static class CasJobsSetup
{
    public static void AddCasJobs(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<CasJobsOptions>().BindConfiguration(CasJobsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<QueryRunner>();
    }
}
