using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace OpenSciServer.Infrastructure.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ComputeJobs : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "compute_jobs",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    OwnerId = table.Column<Guid>(type: "TEXT", nullable: false),
                    OwnerName = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 128, nullable: true),
                    Kind = table.Column<int>(type: "INTEGER", nullable: false),
                    Command = table.Column<string>(type: "TEXT", maxLength: 1000000, nullable: true),
                    NotebookPath = table.Column<string>(type: "TEXT", maxLength: 1024, nullable: true),
                    Parameters = table.Column<string>(type: "TEXT", maxLength: 100000, nullable: true),
                    DomainId = table.Column<long>(type: "INTEGER", nullable: false),
                    ImageId = table.Column<long>(type: "INTEGER", nullable: false),
                    Status = table.Column<int>(type: "INTEGER", nullable: false),
                    TimeLimit = table.Column<TimeSpan>(type: "TEXT", nullable: false),
                    WorkingDirectory = table.Column<string>(type: "TEXT", maxLength: 1024, nullable: false),
                    ScheduleId = table.Column<long>(type: "INTEGER", nullable: true),
                    Attempt = table.Column<int>(type: "INTEGER", nullable: false),
                    BackendId = table.Column<string>(type: "TEXT", maxLength: 128, nullable: true),
                    ExitCode = table.Column<int>(type: "INTEGER", nullable: true),
                    PlatformTokenId = table.Column<Guid>(type: "TEXT", nullable: true),
                    Uid = table.Column<int>(type: "INTEGER", nullable: true),
                    PlatformUrl = table.Column<string>(type: "TEXT", maxLength: 512, nullable: true),
                    SubmittedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    StartedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    FinishedAt = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_compute_jobs", x => x.Id);
                    table.ForeignKey(
                        name: "FK_compute_jobs_compute_domains_DomainId",
                        column: x => x.DomainId,
                        principalTable: "compute_domains",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_compute_jobs_compute_images_ImageId",
                        column: x => x.ImageId,
                        principalTable: "compute_images",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_compute_jobs_users_OwnerId",
                        column: x => x.OwnerId,
                        principalTable: "users",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "compute_job_messages",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    JobId = table.Column<long>(type: "INTEGER", nullable: false),
                    Label = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Content = table.Column<string>(type: "TEXT", maxLength: 4000, nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_compute_job_messages", x => x.Id);
                    table.ForeignKey(
                        name: "FK_compute_job_messages_compute_jobs_JobId",
                        column: x => x.JobId,
                        principalTable: "compute_jobs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "compute_job_volumes",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    JobId = table.Column<long>(type: "INTEGER", nullable: false),
                    Kind = table.Column<int>(type: "INTEGER", nullable: false),
                    RootVolume = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    Owner = table.Column<string>(type: "TEXT", maxLength: 32, nullable: true),
                    Name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Writable = table.Column<bool>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_compute_job_volumes", x => x.Id);
                    table.ForeignKey(
                        name: "FK_compute_job_volumes_compute_jobs_JobId",
                        column: x => x.JobId,
                        principalTable: "compute_jobs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_compute_job_messages_JobId",
                table: "compute_job_messages",
                column: "JobId");

            migrationBuilder.CreateIndex(
                name: "IX_compute_job_volumes_JobId",
                table: "compute_job_volumes",
                column: "JobId");

            migrationBuilder.CreateIndex(
                name: "IX_compute_jobs_DomainId",
                table: "compute_jobs",
                column: "DomainId");

            migrationBuilder.CreateIndex(
                name: "IX_compute_jobs_ImageId",
                table: "compute_jobs",
                column: "ImageId");

            migrationBuilder.CreateIndex(
                name: "IX_compute_jobs_OwnerId_SubmittedAt",
                table: "compute_jobs",
                columns: new[] { "OwnerId", "SubmittedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_compute_jobs_ScheduleId",
                table: "compute_jobs",
                column: "ScheduleId");

            migrationBuilder.CreateIndex(
                name: "IX_compute_jobs_Status_SubmittedAt",
                table: "compute_jobs",
                columns: new[] { "Status", "SubmittedAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "compute_job_messages");

            migrationBuilder.DropTable(
                name: "compute_job_volumes");

            migrationBuilder.DropTable(
                name: "compute_jobs");
        }
    }
}
