-- AlterTable
ALTER TABLE "tenants" ADD COLUMN     "retrieval_k" INTEGER NOT NULL DEFAULT 20,
ADD COLUMN     "retrieval_min_score" DOUBLE PRECISION,
ADD COLUMN     "retrieval_n" INTEGER NOT NULL DEFAULT 5,
ADD COLUMN     "system_prompt" TEXT;
